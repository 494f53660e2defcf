import { fetchEventSource, type EventSourceMessage } from '@microsoft/fetch-event-source'

import { apiLanguage } from './client'
import type { components } from './schema'
import { accessToken, refreshSession } from './session'

export type NotificationView = components['schemas']['NotificationView']
export type NotificationSummary = components['schemas']['NotificationSummary']

export interface StreamHandlers {
  notification(n: NotificationView): void
  unread(count: number): void
  /** The server lost track (the client lagged): reload the list. */
  resync(): void
}

class Unauthorized extends Error {}

/**
 * The live notification stream (`GET /notifications/stream`, Server-Sent Events). EventSource
 * cannot send an `Authorization` header and the server takes the token nowhere else, so this uses
 * a fetch-based client: it reconnects with backoff, sends `Last-Event-ID` so nothing is missed,
 * refreshes the token once on a 401, and stops when the session is over. Returns a stop function.
 */
export function openNotificationStream(h: StreamHandlers): () => void {
  const ctrl = new AbortController()
  let failures = 0
  void fetchEventSource('/api/v1/notifications/stream', {
    signal: ctrl.signal,
    openWhenHidden: false,
    fetch: async (input, init) => {
      // The token is read at every (re)connection, so a refreshed one is used.
      const headers = new Headers(init?.headers)
      const token = accessToken()
      if (token) headers.set('Authorization', `Bearer ${token}`)
      headers.set('Accept-Language', apiLanguage())
      return globalThis.fetch(input, { ...init, headers })
    },
    async onopen(res) {
      if (res.status === 401) {
        const fresh = await refreshSession(accessToken()).catch(() => null)
        if (!fresh) throw new Unauthorized()
        throw new Error('token refreshed; reconnect')
      }
      if (!res.ok || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
        throw new Error(`notification stream: HTTP ${res.status}`)
      }
      failures = 0
    },
    onmessage(m: EventSourceMessage) {
      try {
        if (m.event === 'notification') h.notification(JSON.parse(m.data) as NotificationView)
        else if (m.event === 'unread') h.unread((JSON.parse(m.data) as NotificationSummary).unread)
        else if (m.event === 'resync') h.resync()
      } catch (e) {
        console.warn('notification stream: bad event', e)
      }
    },
    onclose() {
      // The server (or a proxy) ended the stream: reconnect, from the last event received.
      throw new Error('notification stream closed')
    },
    onerror(err) {
      if (err instanceof Unauthorized) throw err // stop: signed out
      failures += 1
      // Back off: 1 s, 2 s, 4 s … up to 30 s (the server's own `retry` hint is 5 s).
      return Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5))
    },
  }).catch(() => undefined)
  return () => ctrl.abort()
}
