// A user's sign-in sessions on their user page: each open session is listed (method, factors,
// times, address, device); 强制下线 asks first, then sends DELETE for that session and takes its
// row away; a caller the API refuses (404 out of scope, 403 not allowed) is told so with the
// server's message. The caller's own page (我的 → 登录设备) renders its sessions the same way.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'

import type { Schema } from '@/api'
import UserSessionsPanel from '@/components/admin/UserSessionsPanel.vue'
import SecurityPanel from '@/components/me/SecurityPanel.vue'
import { loadAdminMessages } from '@/locales/admin'
import { confirmAction, toast } from '@/utils/feedback'
import UserDetail from '@/views/admin/org/UserDetail.vue'

import { fakeApi, problem } from './admin-fixtures'
import { jsonResponse } from './fixtures'

// The confirmation box and the toasts are Element Plus's, loaded on demand: stand-ins here.
vi.mock('@/utils/feedback', () => ({
  confirmAction: vi.fn(() => Promise.resolve(true)),
  toast: vi.fn(),
  toastError: vi.fn(),
}))

beforeAll(() => loadAdminMessages())
beforeEach(() => {
  vi.mocked(confirmAction).mockReset().mockResolvedValue(true)
  vi.mocked(toast).mockReset()
})
afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const uuid = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`
const USER = uuid(1)

const session = (n: number, change: Partial<Schema<'SessionView'>> = {}): Schema<'SessionView'> => ({
  id: uuid(100 + n),
  method: 'password',
  amr: ['pwd'],
  created_at: '2026-12-02T01:00:00Z',
  last_used_at: '2026-12-02T02:30:00Z',
  ip: null,
  user_agent: null,
  current: false,
  ...change,
})
const SESSIONS = [
  session(1, { amr: ['pwd', 'otp'], ip: '10.20.30.40', user_agent: 'Mozilla/5.0 (Windows NT 10.0) Chrome/131.0' }),
  session(2, { method: 'oidc', amr: ['oidc'], ip: '2001:db8::1', user_agent: 'TongbanApp/1.2 (iPhone)' }),
]

function mountPanel(routes: Parameters<typeof fakeApi>[0]) {
  const api = fakeApi(routes)
  const w = mount(UserSessionsPanel, { props: { userId: USER, userName: '张三' }, attachTo: document.body })
  return { api, w }
}

describe('a user’s sessions (administrator)', () => {
  it('lists each open session from the API: method, factors, times, address and device', async () => {
    const { api, w } = mountPanel({ 'GET /api/v1/users/*/sessions': () => jsonResponse(200, SESSIONS) })
    await flushPromises()
    expect(api.calls[0]).toMatchObject({ method: 'GET', path: `/api/v1/users/${USER}/sessions` })
    const rows = w.findAll('[data-testid="session-row"]')
    expect(rows.map((r) => r.attributes('data-id'))).toEqual([uuid(101), uuid(102)])
    expect(rows[0]?.find('[data-testid="session-method"]').text()).toBe('密码')
    expect(rows[0]?.find('[data-testid="session-amr"]').text()).toBe('认证方式：密码 + 两步验证')
    expect(rows[0]?.text()).toContain('10.20.30.40')
    expect(rows[0]?.find('[data-testid="session-agent"]').text()).toBe('Mozilla/5.0 (Windows NT 10.0) Chrome/131.0')
    expect(rows[0]?.text()).toMatch(/登录时间 \d{4}-\d\d-\d\d \d\d:\d\d · 最近使用 \d{4}-\d\d-\d\d \d\d:\d\d/)
    expect(rows[1]?.find('[data-testid="session-method"]').text()).toBe('统一身份认证')
    expect(rows[1]?.text()).toContain('2001:db8::1')
    expect(rows[1]?.text()).toContain('TongbanApp/1.2 (iPhone)')
    expect(rows[0]?.find(`[data-testid="session-end-${uuid(101)}"]`).text()).toBe('强制下线')
    w.unmount()
  })

  it('ends a session after confirmation: DELETE on its path, and its row goes', async () => {
    const { api, w } = mountPanel({
      'GET /api/v1/users/*/sessions': () => jsonResponse(200, SESSIONS),
      'DELETE /api/v1/users/*/sessions/*': () => new Response(null, { status: 204 }),
    })
    await flushPromises()
    await w.find(`[data-testid="session-end-${uuid(102)}"]`).trigger('click')
    await flushPromises()
    expect(confirmAction).toHaveBeenCalledWith(expect.stringContaining('张三'))
    const del = api.calls.filter((c) => c.method === 'DELETE')
    expect(del.map((c) => c.path)).toEqual([`/api/v1/users/${USER}/sessions/${uuid(102)}`])
    expect(w.findAll('[data-testid="session-row"]').map((r) => r.attributes('data-id'))).toEqual([uuid(101)])
    expect(toast).toHaveBeenCalledWith('success', '已强制下线')
    w.unmount()
  })

  it('sends nothing when the confirmation is declined', async () => {
    vi.mocked(confirmAction).mockResolvedValue(false)
    const { api, w } = mountPanel({ 'GET /api/v1/users/*/sessions': () => jsonResponse(200, SESSIONS) })
    await flushPromises()
    await w.find(`[data-testid="session-end-${uuid(101)}"]`).trigger('click')
    await flushPromises()
    expect(api.calls.some((c) => c.method === 'DELETE')).toBe(false)
    expect(w.findAll('[data-testid="session-row"]')).toHaveLength(2)
    w.unmount()
  })

  it('reloads the list when the session had already ended (404 on DELETE)', async () => {
    let list = SESSIONS
    const { api, w } = mountPanel({
      'GET /api/v1/users/*/sessions': () => jsonResponse(200, list),
      'DELETE /api/v1/users/*/sessions/*': () => {
        list = [SESSIONS[0]!]
        return problem(404, 'not_found', '没有这个会话')
      },
    })
    await flushPromises()
    await w.find(`[data-testid="session-end-${uuid(102)}"]`).trigger('click')
    await flushPromises()
    expect(toast).toHaveBeenCalledWith('warning', '该会话已经结束，列表已刷新')
    expect(api.calls.filter((c) => c.method === 'GET')).toHaveLength(2)
    expect(w.findAll('[data-testid="session-row"]').map((r) => r.attributes('data-id'))).toEqual([uuid(101)])
    w.unmount()
  })

  it('shows no end button for the caller’s own current session, and an empty state with none left', async () => {
    const { w } = mountPanel({ 'GET /api/v1/users/*/sessions': () => jsonResponse(200, [session(3, { current: true })]) })
    await flushPromises()
    expect(w.find('[data-testid="session-row"]').text()).toContain('当前设备')
    expect(w.find(`[data-testid="session-end-${uuid(103)}"]`).exists()).toBe(false)
    w.unmount()

    const empty = mountPanel({ 'GET /api/v1/users/*/sessions': () => jsonResponse(200, []) })
    await flushPromises()
    expect(empty.w.find('[data-testid="session-row"]').exists()).toBe(false)
    expect(empty.w.text()).toContain('该用户当前没有登录会话')
    empty.w.unmount()
  })

  it('refreshes on request', async () => {
    let list: Schema<'SessionView'>[] = []
    const { api, w } = mountPanel({ 'GET /api/v1/users/*/sessions': () => jsonResponse(200, list) })
    await flushPromises()
    list = SESSIONS
    await w.find('[data-testid="user-sessions-refresh"]').trigger('click')
    await flushPromises()
    expect(api.calls).toHaveLength(2)
    expect(w.findAll('[data-testid="session-row"]')).toHaveLength(2)
    w.unmount()
  })

  it.each([
    [404, 'not_found', '没有这个用户', '该用户不存在或不在您的管理范围内'],
    [403, 'forbidden', '需要 user.manage 权限', '您可以查看该用户，但无权查看或结束其登录会话'],
  ])('says so when the API answers %i', async (status, code, detail, said) => {
    const { w } = mountPanel({
      'GET /api/v1/users/*/sessions': () => problem(status, code, detail),
    })
    await flushPromises()
    const alert = w.find('[data-testid="user-sessions-error"]')
    expect(alert.attributes('role')).toBe('alert')
    expect(alert.text()).toContain(said)
    expect(alert.text()).toContain(detail)
    expect(w.find('[data-testid="session-row"]').exists()).toBe(false)
    w.unmount()
  })

  it('shows other failures with the server’s message and a retry', async () => {
    let fail = true
    const { w } = mountPanel({
      'GET /api/v1/users/*/sessions': () => (fail ? problem(503, 'unavailable', '服务暂时不可用') : jsonResponse(200, SESSIONS)),
    })
    await flushPromises()
    expect(w.find('[role="alert"]').text()).toContain('服务暂时不可用')
    fail = false
    await w.find('.state__retry').trigger('click')
    await flushPromises()
    expect(w.findAll('[data-testid="session-row"]')).toHaveLength(2)
    w.unmount()
  })
})

describe('the user page', () => {
  it('has the sessions section for the user shown', async () => {
    const user: Schema<'UserView'> = {
      id: USER,
      username: 'zhangsan',
      display_name: '张三',
      kind: 'staff',
      status: 'active',
      has_password: true,
      version: 1,
      created_at: '2026-09-01T00:00:00Z',
      updated_at: '2026-09-01T00:00:00Z',
    }
    const api = fakeApi({
      'GET /api/v1/users/*/sessions': () => jsonResponse(200, SESSIONS),
      'GET /api/v1/users/*/roles': () => jsonResponse(200, { roles: [], version: 1 }),
      'GET /api/v1/users/*/absences': () => jsonResponse(200, { items: [], total: 0, page: 1, page_size: 50 }),
      'GET /api/v1/users/*': () => jsonResponse(200, user),
      'GET /api/v1/roles': () => jsonResponse(200, []),
      'GET /api/v1/permissions': () => jsonResponse(200, []),
      'GET /api/v1/positions': () => jsonResponse(200, []),
      'GET /api/v1/departments': () => jsonResponse(200, []),
    })
    const router = createRouter({
      history: createMemoryHistory(),
      routes: [
        { path: '/admin/org/users', name: 'admin-users', component: { template: '<div />' } },
        { path: '/admin/org/users/:id', name: 'admin-user', component: UserDetail },
      ],
    })
    await router.push(`/admin/org/users/${USER}`)
    // (The absence form's date range picker warns about its id in happy-dom: not this test's concern.)
    const w = mount(UserDetail, { global: { plugins: [router], stubs: { ElDatePicker: true } }, attachTo: document.body })
    await flushPromises()
    const section = w.find('[data-testid="user-sessions"]')
    expect(section.find('h2').text()).toBe('登录会话')
    expect(section.findAll('[data-testid="session-row"]')).toHaveLength(2)
    expect(api.calls.some((c) => c.path === `/api/v1/users/${USER}/sessions`)).toBe(true)
    w.unmount()
  })
})

describe('the caller’s own sessions', () => {
  it('are rendered by the same list, ended with DELETE /me/sessions/{id}', async () => {
    let list = [session(1, { current: true, ip: '10.0.0.1' }), session(2, { user_agent: 'Firefox/133.0' })]
    const api = fakeApi({
      'GET /api/v1/me/sessions': () => jsonResponse(200, list),
      'GET /api/v1/me/totp': () => jsonResponse(200, { enabled: false, required: false, session_verified: false }),
      'DELETE /api/v1/me/sessions/*': () => {
        list = [list[0]!]
        return new Response(null, { status: 204 })
      },
    })
    const w = mount(SecurityPanel, { attachTo: document.body })
    await flushPromises()
    const rows = w.findAll('[data-testid="session-row"]')
    expect(rows).toHaveLength(2)
    expect(rows[0]?.text()).toContain('当前设备')
    expect(rows[1]?.text()).toContain('Firefox/133.0')
    await w.find(`[data-testid="session-end-${uuid(102)}"]`).trigger('click')
    await flushPromises()
    expect(w.find(`[data-testid="session-end-${uuid(102)}"]`).exists()).toBe(false)
    expect(api.calls.find((c) => c.method === 'DELETE')?.path).toBe(`/api/v1/me/sessions/${uuid(102)}`)
    expect(w.findAll('[data-testid="session-row"]')).toHaveLength(1)
    w.unmount()
  })
})
