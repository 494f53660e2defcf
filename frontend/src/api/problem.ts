import type { components } from './schema'

export type Problem = components['schemas']['Problem']
export type ProblemField = components['schemas']['ProblemField']

/**
 * Every failed API call ends up as one ApiError: problem+json bodies (RFC 9457) keep their
 * `code`, `detail` and field `errors`; other failures get a code of their own (`network`,
 * `http_<status>`). The UI shows `message` — the server's own words, in the UI language.
 */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly title: string
  readonly detail: string | null
  readonly errors: ProblemField[]
  readonly requestId: string | null
  /** Seconds from `Retry-After` (429, 503). */
  readonly retryAfter: number | null

  constructor(init: {
    status: number
    code: string
    title: string
    detail?: string | null
    errors?: ProblemField[]
    requestId?: string | null
    retryAfter?: number | null
  }) {
    const errors = init.errors ?? []
    super(init.detail || errors[0]?.message || init.title)
    this.name = 'ApiError'
    this.status = init.status
    this.code = init.code
    this.title = init.title
    this.detail = init.detail ?? null
    this.errors = errors
    this.requestId = init.requestId ?? null
    this.retryAfter = init.retryAfter ?? null
  }

  /** Field errors by field path, with the `form.` prefix the affair endpoints use removed. */
  fieldErrors(prefix = 'form.'): Record<string, string> {
    const out: Record<string, string> = {}
    for (const e of this.errors) {
      const key = e.field.startsWith(prefix) ? e.field.slice(prefix.length) : e.field
      out[key] ??= e.message
    }
    return out
  }

  static network(cause: unknown): ApiError {
    const e = new ApiError({ status: 0, code: 'network', title: networkMessage() })
    ;(e as { cause?: unknown }).cause = cause
    return e
  }

  /** From a response and its parsed body (which may or may not be a problem). */
  static fromResponse(response: Response, body: unknown): ApiError {
    const requestId = response.headers.get('x-request-id')
    const ra = Number(response.headers.get('retry-after'))
    const retryAfter = Number.isFinite(ra) && ra > 0 ? ra : null
    if (isProblem(body)) {
      return new ApiError({
        status: body.status || response.status,
        code: body.code,
        title: body.title,
        detail: body.detail ?? null,
        errors: body.errors ?? [],
        requestId,
        retryAfter,
      })
    }
    return new ApiError({
      status: response.status,
      code: `http_${response.status}`,
      title: response.statusText || `HTTP ${response.status}`,
      requestId,
      retryAfter,
    })
  }
}

export function isProblem(body: unknown): body is Problem {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as Problem).code === 'string' &&
    typeof (body as Problem).title === 'string'
  )
}

export function isApiError(e: unknown, code?: string): e is ApiError {
  return e instanceof ApiError && (code === undefined || e.code === code)
}

/** The text to show for any error thrown by a call. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message
  if (e instanceof Error) return e.message
  return String(e)
}

let networkText = '网络连接失败，请检查网络后重试'
/** Set by i18n so that network failures read in the UI language. */
export function setNetworkMessage(text: string) {
  networkText = text
}
function networkMessage() {
  return networkText
}
