import { vi } from 'vitest'

import type { Schema } from '@/api'

import { jsonResponse } from './fixtures'

export interface Call {
  method: string
  path: string
  query: URLSearchParams
  body: unknown
}

/**
 * A fake API: `routes` maps `"PUT /api/v1/guides/{id}"`-like keys (path parameters as `*`) to
 * handlers; every request is recorded with its parsed JSON body. Unknown routes answer 404.
 */
export function fakeApi(routes: Record<string, (c: Call) => Response | Promise<Response>>) {
  const calls: Call[] = []
  const matchers = Object.entries(routes).map(([key, fn]) => {
    const [method, pattern] = key.split(' ') as [string, string]
    const re = new RegExp(`^${pattern.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]+')}$`)
    return { method, re, fn }
  })
  const fetch = vi.fn(async (req: Request) => {
    const url = new URL(req.url)
    const text = req.method === 'GET' ? '' : await req.text()
    let body: unknown = text
    try {
      body = text ? JSON.parse(text) : undefined
    } catch {
      // not JSON (multipart)
    }
    const c: Call = { method: req.method, path: url.pathname, query: url.searchParams, body }
    calls.push(c)
    const m = matchers.find((x) => x.method === req.method && x.re.test(url.pathname))
    return m ? m.fn(c) : jsonResponse(404, { type: 'about:blank', title: 'Not found', status: 404, code: 'not_found' })
  })
  vi.stubGlobal('fetch', fetch)
  return { calls, fetch }
}

export const problem = (status: number, code: string, detail?: string, errors: { field: string; code: string; message: string }[] = []) =>
  jsonResponse(status, { type: `https://tongban.dev/problems/${code}`, title: detail ?? code, status, code, detail, errors })

export const GUIDE_ID = '01a234eb-2563-7606-8098-8502c40ffbc3'

/** The demo 在读证明 guide as its managers read it (trimmed). */
export function guideView(change: Partial<Schema<'GuideView'>> = {}, content: Partial<Schema<'GuideContent'>> = {}): Schema<'GuideView'> {
  return {
    id: GUIDE_ID,
    code: 'enrolment_certificate',
    name: '在读证明开具',
    name_en: 'Certificate of enrolment',
    summary: '在校学生网上申请在读证明',
    department_id: '01a234eb-2557-72b8-851f-272e2cd08f48',
    department_name: '学生工作处',
    category_id: null,
    process_id: '01a234eb-255c-77a9-a312-2d59720961dc',
    online: true,
    audiences: ['student'],
    channels: [],
    status: 'published',
    published_version: 1,
    latest_version: 1,
    recommended: false,
    recommend_rank: 0,
    protected: false,
    version: 1,
    updated_at: '2026-12-02T04:00:00Z',
    published_at: '2026-12-02T04:00:00Z',
    shown_version: 1,
    shown_status: 'published',
    files: [],
    content: {
      name: '在读证明开具',
      summary: '在校学生网上申请在读证明',
      process_id: '01a234eb-255c-77a9-a312-2d59720961dc',
      audiences: ['student'],
      conditions: '具有我院正式学籍的在读学生',
      time_limit_days: 3,
      fee: { free: true, standard: '免费', basis: '' },
      materials: [{ name: '学生证', required: false, form: 'original', copies: 1, note: '' }],
      contact: { phone: '0734-8888101', location: '行政楼 203', office_hours: '', email: '' },
      faq: [{ question: '多久能办好？', answer: '3 个工作日内。' }],
      ...content,
    },
    ...change,
  }
}
