import createClient from 'openapi-fetch'

import { ApiError } from './problem'
import type { components, paths } from './schema'

export type TokenResponse = components['schemas']['TokenResponse']

/** What a signed-in browser keeps: the token pair and when the access token expires (ms). */
export interface Session {
  access: string
  refresh: string
  expiresAt: number
}

const KEY = 'tongban.session'
/** Refresh this long before the access token expires, to avoid a wasted 401. */
const EARLY_MS = 30_000

/** A client without the auth middleware, for the sign-in endpoints themselves. */
const authClient = createClient<paths>({ fetch: (r: Request) => globalThis.fetch(r) })

type Listener = (s: Session | null, reason: 'login' | 'refresh' | 'logout' | 'expired' | 'other-tab') => void
const listeners = new Set<Listener>()

function read(): Session | null {
  try {
    const raw = localStorage.getItem(KEY)
    if (!raw) return null
    const s = JSON.parse(raw) as Partial<Session>
    if (typeof s.access === 'string' && typeof s.refresh === 'string' && typeof s.expiresAt === 'number') {
      return s as Session
    }
  } catch {
    // Unreadable storage counts as signed out.
  }
  return null
}

function write(s: Session | null, reason: Parameters<Listener>[1]) {
  if (s) localStorage.setItem(KEY, JSON.stringify(s))
  else localStorage.removeItem(KEY)
  for (const l of listeners) l(s, reason)
}

function fromTokens(t: TokenResponse): Session {
  return { access: t.access_token, refresh: t.refresh_token, expiresAt: Date.now() + t.expires_in * 1000 }
}

/** Subscribe to sign-in, refresh and sign-out (also those of other tabs). */
export function onSessionChange(l: Listener): () => void {
  listeners.add(l)
  return () => listeners.delete(l)
}

// Another tab signed in, refreshed or signed out: follow it.
if (typeof window !== 'undefined') {
  window.addEventListener('storage', (e) => {
    if (e.key !== KEY) return
    const s = read()
    for (const l of listeners) l(s, 'other-tab')
  })
}

export function currentSession(): Session | null {
  return read()
}

export function accessToken(): string | null {
  return read()?.access ?? null
}

export function accessExpiresSoon(s: Session | null = read()): boolean {
  return s !== null && Date.now() > s.expiresAt - EARLY_MS
}

export async function login(username: string, password: string, language: string, totpCode?: string): Promise<void> {
  const body = totpCode ? { username, password, totp_code: totpCode } : { username, password }
  const { data, error, response } = await authClient
    .POST('/api/v1/auth/login', { body, headers: { 'Accept-Language': language } })
    .catch((e: unknown) => {
      throw ApiError.network(e)
    })
  if (!data) throw ApiError.fromResponse(response, error)
  write(fromTokens(data), 'login')
}

/** After a campus sign-in: exchange the single-use code the callback handed over for tokens. */
export async function exchangeSsoCode(code: string, language: string): Promise<void> {
  const { data, error, response } = await authClient
    .POST('/api/v1/auth/sso/exchange', { body: { code }, headers: { 'Accept-Language': language } })
    .catch((e: unknown) => {
      throw ApiError.network(e)
    })
  if (!data) throw ApiError.fromResponse(response, error)
  write(fromTokens(data), 'login')
}

export async function logout(): Promise<void> {
  const s = read()
  write(null, 'logout')
  if (s) {
    // Ends the session on the server; the local session is gone either way.
    await authClient.POST('/api/v1/auth/logout', { body: { refresh_token: s.refresh } }).catch(() => undefined)
  }
}

/**
 * Exchange the refresh token for a new pair, at most once at a time.
 *
 * The server rotates refresh tokens and treats a reused one as theft, revoking the whole family,
 * so two refreshes with the same token must never race — neither within this tab (concurrent 401s
 * share one promise) nor across tabs (a Web Lock serialises them, and a tab that waited finds the
 * new pair another tab stored and uses it instead of refreshing again).
 *
 * `stale` is the access token the caller found wanting; if the stored one differs, somebody has
 * already refreshed. Resolves to the new access token, or null when the session is over (it is
 * then cleared and listeners hear 'expired'). Network and server failures reject with ApiError
 * and keep the session, so a later call can try again.
 */
export function refreshSession(stale?: string | null): Promise<string | null> {
  inflight ??= withLock(() => doRefresh(stale ?? null)).finally(() => {
    inflight = null
  })
  return inflight
}
let inflight: Promise<string | null> | null = null

async function doRefresh(stale: string | null): Promise<string | null> {
  const s = read()
  if (!s) return null
  if (stale !== null && s.access !== stale && !accessExpiresSoon(s)) return s.access
  let result
  try {
    result = await authClient.POST('/api/v1/auth/refresh', { body: { refresh_token: s.refresh } })
  } catch (e) {
    throw ApiError.network(e)
  }
  const { data, error, response } = result
  if (data) {
    const next = fromTokens(data)
    write(next, 'refresh')
    return next.access
  }
  if (response.status === 400 || response.status === 401) {
    // Expired, revoked or reused: the session is over.
    if (read()?.refresh === s.refresh) write(null, 'expired')
    return null
  }
  throw ApiError.fromResponse(response, error)
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined
  if (locks?.request) return locks.request('tongban.auth.refresh', fn) as Promise<T>
  return fn()
}
