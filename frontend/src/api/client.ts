import createClient, { type Middleware } from 'openapi-fetch'

import { ApiError } from './problem'
import type { paths } from './schema'
import { accessExpiresSoon, accessToken, currentSession, refreshSession } from './session'

let language = 'zh-CN'
/** The UI language, sent as `Accept-Language` so that server messages match it. */
export function setApiLanguage(lang: string) {
  language = lang
}
export function apiLanguage() {
  return language
}

const PUBLIC_AUTH = new Set(['/api/v1/auth/login', '/api/v1/auth/refresh', '/api/v1/auth/logout'])

/** Requests sent with a token, kept (cloned, body included) so that a 401 can be retried once. */
const pending = new Map<string, Request>()

/** Adds the bearer token (refreshing first when it is about to expire) and the UI language. */
export const authMiddleware: Middleware = {
  async onRequest({ request, schemaPath, id }) {
    request.headers.set('Accept-Language', language)
    if (PUBLIC_AUTH.has(schemaPath)) return request
    let token = accessToken()
    if (token && accessExpiresSoon(currentSession())) {
      token = await refreshSession(token).catch(() => token)
    }
    if (token) {
      request.headers.set('Authorization', `Bearer ${token}`)
      pending.set(id, request.clone())
    }
    return request
  },
  async onResponse({ response, id }) {
    const copy = pending.get(id)
    pending.delete(id)
    if (response.status !== 401 || !copy) return response
    // The token was refused: refresh once (shared with every other request that got a 401
    // meanwhile) and send the request again with the new token. A second 401 stands.
    const sent = copy.headers.get('Authorization')?.replace(/^Bearer /, '') ?? null
    const fresh = await refreshSession(sent).catch(() => null)
    if (!fresh) return response
    copy.headers.set('Authorization', `Bearer ${fresh}`)
    return globalThis.fetch(copy)
  },
  onError({ id }) {
    pending.delete(id)
  },
}

/** The one typed client for the whole API (types generated from openapi/openapi.json). */
export const api = createClient<paths>({ fetch: (r: Request) => globalThis.fetch(r) })
api.use(authMiddleware)

type Result<T> = { data?: T; error?: unknown; response: Response }

/**
 * Await an openapi-fetch call and return its data, or throw ApiError (problem+json, other HTTP
 * failures, network errors). `await call(api.GET('/api/v1/hall'))`.
 */
export async function call<T>(promise: Promise<Result<T>>): Promise<T> {
  let result: Result<T>
  try {
    result = await promise
  } catch (e) {
    if (e instanceof ApiError) throw e
    throw ApiError.network(e)
  }
  const { data, error, response } = result
  if (!response.ok) throw ApiError.fromResponse(response, error)
  return data as T
}

/** A fresh key for `Idempotency-Key`, kept by the caller across retries of one submission. */
export function idempotencyKey(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`
}

/**
 * Fetch a file through the client (token and refresh included) and hand it to the browser as a
 * download. `name` is used when the response gives none.
 */
export async function downloadBlob(promise: Promise<Result<unknown>>, name: string): Promise<void> {
  const data = await call(promise)
  const blob = data instanceof Blob ? data : new Blob([JSON.stringify(data)])
  const url = URL.createObjectURL(blob)
  try {
    const a = document.createElement('a')
    a.href = url
    a.download = name
    document.body.appendChild(a)
    a.click()
    a.remove()
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 30_000)
  }
}
