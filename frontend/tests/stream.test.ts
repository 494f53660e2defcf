import { afterEach, describe, expect, it, vi } from 'vitest'

import { openNotificationStream } from '@/api/stream'

const KEY = 'tongban.session'

function sse(chunks: string[], close = true) {
  const enc = new TextEncoder()
  return new Response(
    new ReadableStream({
      start(c) {
        for (const ch of chunks) c.enqueue(enc.encode(ch))
        if (close) c.close()
      },
    }),
    { status: 200, headers: { 'content-type': 'text/event-stream' } },
  )
}

describe('notification stream', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('sends the token in the header, delivers events, and reconnects with Last-Event-ID', async () => {
    localStorage.setItem(KEY, JSON.stringify({ access: 'tok', refresh: 'r', expiresAt: Date.now() + 600_000 }))
    const requests: Request[] = []
    let n = 0
    vi.stubGlobal(
      'fetch',
      vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
        requests.push(input instanceof Request ? input : new Request(new URL(input instanceof URL ? input.href : input, 'http://localhost'), init))
        n += 1
        if (n === 1) {
          // First connection: the backlog, the count, then the server drops the connection.
          return Promise.resolve(
            sse([
              'retry: 5000\n\n',
              'id: n-1\nevent: notification\ndata: {"id":"n-1","kind":"returned","title":"已退回","body":"b","created_at":"2026-12-02T00:00:00Z"}\n\n',
              'event: unread\ndata: {"unread":4}\n\n',
            ]),
          )
        }
        return Promise.resolve(sse(['event: resync\ndata: {}\n\n'], false))
      }),
    )
    const got: string[] = []
    const stop = openNotificationStream({
      notification: (x) => got.push(`notification:${x.id}`),
      unread: (c) => got.push(`unread:${c}`),
      resync: () => got.push('resync'),
    })
    await vi.waitFor(() => expect(got).toContain('resync'), { timeout: 4000 })
    stop()
    expect(got).toEqual(['notification:n-1', 'unread:4', 'resync'])
    expect(requests[0]!.headers.get('authorization')).toBe('Bearer tok')
    expect(new URL(requests[0]!.url).search).toBe('')
    expect(requests[1]!.headers.get('last-event-id')).toBe('n-1')
  })

  it('refreshes the token once on a 401 and reconnects with the new one', async () => {
    localStorage.setItem(KEY, JSON.stringify({ access: 'old', refresh: 'r1', expiresAt: Date.now() + 600_000 }))
    const auths: (string | null)[] = []
    let refreshes = 0
    vi.stubGlobal(
      'fetch',
      vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
        const req = input instanceof Request ? input : new Request(new URL(input instanceof URL ? input.href : input, 'http://localhost'), init)
        if (new URL(req.url).pathname === '/api/v1/auth/refresh') {
          refreshes += 1
          return Promise.resolve(
            new Response(JSON.stringify({ access_token: 'new', refresh_token: 'r2', token_type: 'Bearer', expires_in: 900 }), {
              status: 200,
              headers: { 'content-type': 'application/json' },
            }),
          )
        }
        auths.push(req.headers.get('authorization'))
        if (req.headers.get('authorization') !== 'Bearer new') {
          return Promise.resolve(new Response('{}', { status: 401, headers: { 'content-type': 'application/problem+json' } }))
        }
        return Promise.resolve(sse(['event: unread\ndata: {"unread":1}\n\n'], false))
      }),
    )
    const counts: number[] = []
    const stop = openNotificationStream({ notification: () => undefined, unread: (c) => counts.push(c), resync: () => undefined })
    await vi.waitFor(() => expect(counts).toEqual([1]), { timeout: 4000 })
    stop()
    expect(refreshes).toBe(1)
    expect(auths).toEqual(['Bearer old', 'Bearer new'])
  })
})
