import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { ApiError, api, call } from '@/api'
import { setApiLanguage } from '@/api/client'
import { currentSession, onSessionChange, type Session } from '@/api/session'

import { jsonResponse } from './fixtures'

const KEY = 'tongban.session'
function store(s: Session) {
  localStorage.setItem(KEY, JSON.stringify(s))
}
const fresh = (access: string, refresh: string): Session => ({ access, refresh, expiresAt: Date.now() + 600_000 })
const tokens = (access: string, refresh: string) => ({ access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: 900 })
const me = { user: { id: 'u1' }, roles: [], permissions: [], positions: [] }

type Handler = (req: Request) => Response | Promise<Response>
function mockFetch(handler: Handler) {
  const calls: Request[] = []
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(new URL(String(input), 'http://localhost'), init)
    calls.push(req.clone())
    return handler(req)
  })
  vi.stubGlobal('fetch', fn)
  return calls
}

describe('API client', () => {
  beforeEach(() => setApiLanguage('zh-CN'))
  afterEach(() => vi.unstubAllGlobals())

  it('refreshes once for concurrent 401s and retries each request with the new token', async () => {
    store(fresh('old-access', 'refresh-1'))
    let refreshes = 0
    const calls = mockFetch(async (req) => {
      const url = new URL(req.url)
      if (url.pathname === '/api/v1/auth/refresh') {
        refreshes += 1
        const body = (await req.json()) as { refresh_token: string }
        // The server rotates: reusing refresh-1 a second time would revoke the family.
        if (body.refresh_token !== 'refresh-1' || refreshes > 1) return jsonResponse(401, { code: 'token_reused', title: 'reused', status: 401 })
        await new Promise((r) => setTimeout(r, 20))
        return jsonResponse(200, tokens('new-access', 'refresh-2'))
      }
      const auth = req.headers.get('authorization')
      if (auth !== 'Bearer new-access') return jsonResponse(401, { code: 'unauthenticated', title: 'no', status: 401 })
      return jsonResponse(200, url.pathname === '/api/v1/me' ? me : { unread: 3 })
    })

    const [a, b, c] = await Promise.all([
      call(api.GET('/api/v1/me')),
      call(api.GET('/api/v1/notifications/summary')),
      call(api.GET('/api/v1/me')),
    ])
    expect(refreshes).toBe(1)
    expect(a.user.id).toBe('u1')
    expect(b.unread).toBe(3)
    expect(c.user.id).toBe('u1')
    expect(currentSession()).toMatchObject({ access: 'new-access', refresh: 'refresh-2' })
    const retried = calls.filter((r) => r.headers.get('authorization') === 'Bearer new-access')
    expect(retried).toHaveLength(3)
  })

  it('does not refresh again when another tab already stored a newer token', async () => {
    store(fresh('stale', 'refresh-1'))
    let refreshes = 0
    mockFetch((req) => {
      if (new URL(req.url).pathname === '/api/v1/auth/refresh') {
        refreshes += 1
        return jsonResponse(200, tokens('x', 'y'))
      }
      if (req.headers.get('authorization') === 'Bearer stale') {
        // Meanwhile another tab refreshed and stored its pair.
        store(fresh('from-other-tab', 'refresh-2'))
        return jsonResponse(401, { code: 'unauthenticated', title: 'no', status: 401 })
      }
      return jsonResponse(200, me)
    })
    await call(api.GET('/api/v1/me'))
    expect(refreshes).toBe(0)
    expect(currentSession()?.refresh).toBe('refresh-2')
  })

  it('ends the session when the refresh token is refused, and the call fails with 401', async () => {
    store(fresh('old', 'revoked'))
    const events: string[] = []
    const off = onSessionChange((_s, reason) => events.push(reason))
    mockFetch((req) =>
      new URL(req.url).pathname === '/api/v1/auth/refresh'
        ? jsonResponse(401, { code: 'invalid_refresh_token', title: 'invalid', status: 401 })
        : jsonResponse(401, { code: 'unauthenticated', title: '未登录', status: 401 }),
    )
    const err = await call(api.GET('/api/v1/me')).catch((e: unknown) => e)
    off()
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(401)
    expect(currentSession()).toBeNull()
    expect(events).toContain('expired')
  })

  it('refreshes before sending when the access token is about to expire', async () => {
    store({ access: 'expiring', refresh: 'r1', expiresAt: Date.now() + 1000 })
    const calls = mockFetch((req) =>
      new URL(req.url).pathname === '/api/v1/auth/refresh' ? jsonResponse(200, tokens('renewed', 'r2')) : jsonResponse(200, me),
    )
    await call(api.GET('/api/v1/me'))
    const sent = calls.filter((r) => new URL(r.url).pathname === '/api/v1/me')
    expect(sent).toHaveLength(1)
    expect(sent[0]!.headers.get('authorization')).toBe('Bearer renewed')
  })

  it('sends the UI language and turns problem+json into ApiError with field messages', async () => {
    setApiLanguage('en')
    store(fresh('a', 'r'))
    const calls = mockFetch(() =>
      jsonResponse(
        400,
        {
          type: 'about:blank',
          title: 'Invalid input',
          status: 400,
          code: 'validation_failed',
          detail: 'Some fields are invalid',
          errors: [{ field: 'form.copies', code: 'range', message: 'At most 5' }],
        },
        { 'x-request-id': 'req-42' },
      ),
    )
    const err = (await call(api.POST('/api/v1/affairs', { body: { form: {} } })).catch((e: unknown) => e)) as ApiError
    expect(calls[0]!.headers.get('accept-language')).toBe('en')
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('validation_failed')
    expect(err.message).toBe('Some fields are invalid')
    expect(err.requestId).toBe('req-42')
    expect(err.fieldErrors()).toEqual({ copies: 'At most 5' })
  })

  it('reports network failures as ApiError with code network', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new TypeError('Failed to fetch'))))
    const err = (await call(api.GET('/api/v1/hall')).catch((e: unknown) => e)) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('network')
    expect(err.message).toMatch(/网络/)
  })
})
