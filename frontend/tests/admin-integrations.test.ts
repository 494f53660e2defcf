// The integrators' pages: a secret shown once (copied, or selected when there is no clipboard;
// closed only by saying it was stored), webhook forms checked as the server checks them, every
// event the API offers listed, roles beyond the caller's permissions not offered, and a webhook's
// delivery log (status, attempts, response code, redelivery of what was not delivered; ping).
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ref } from 'vue'
import { createMemoryHistory, createRouter } from 'vue-router'

import type { Schema } from '@/api'
import RoleAssignmentEditor from '@/components/admin/RoleAssignmentEditor.vue'
import SecretOnce from '@/components/admin/SecretOnce.vue'
import { EVENTS_COMPLETE, SUBSCRIBABLE_EVENTS, eventKey } from '@/components/admin/webhookEvents'
import { i18n } from '@/locales'
import { loadAdminMessages } from '@/locales/admin'
import WebhookDetail from '@/views/admin/integrations/WebhookDetail.vue'
import { tokenExample } from '@/views/admin/integrations/nav'
import { checkHook } from '@/views/admin/integrations/webhookForm'

import { fakeApi } from './admin-fixtures'
import { jsonResponse } from './fixtures'

beforeAll(() => loadAdminMessages())
afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const uuid = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`

describe('a secret shown once', () => {
  const items = [
    { id: 'secret-client-id', label: 'client_id', value: 'tb_0123' },
    { id: 'secret-client-secret', label: 'client_secret', value: 's3cr3t-value', secret: true },
  ]

  it('shows each value with a labelled copy button and a warning, and closes only when stored', async () => {
    const writeText = vi.fn(() => Promise.resolve())
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
    const open = ref(true)
    const closed = vi.fn()
    mount(SecretOnce, {
      props: { modelValue: open.value, 'onUpdate:modelValue': (v: boolean) => (open.value = v), title: '密钥', warning: '关闭后无法再次查看', items, onClosed: closed },
      attachTo: document.body,
    })
    await flushPromises()
    const input = document.getElementById('secret-client-secret') as HTMLInputElement
    expect(input.value).toBe('s3cr3t-value')
    expect(input.readOnly).toBe(true)
    expect(document.querySelector('label[for="secret-client-secret"]')?.textContent).toBe('client_secret')
    expect(document.body.textContent).toContain('只显示这一次')
    expect(document.body.textContent).toContain('关闭后无法再次查看')
    const copy = document.querySelector('[data-testid="secret-client-secret-copy"]') as HTMLButtonElement
    expect(copy.getAttribute('aria-label')).toBe('复制client_secret')
    copy.click()
    await flushPromises()
    expect(writeText).toHaveBeenCalledWith('s3cr3t-value')
    // No close button in the corner.
    expect(document.querySelector('.el-dialog__headerbtn')).toBeNull()
    ;(document.querySelector('[data-testid="secret-done"]') as HTMLButtonElement).click()
    await flushPromises()
    expect(open.value).toBe(false)
    expect(closed).toHaveBeenCalledOnce()
  })

  it('selects the value to copy by hand when the clipboard is refused', async () => {
    Object.defineProperty(navigator, 'clipboard', { value: { writeText: () => Promise.reject(new Error('denied')) }, configurable: true })
    mount(SecretOnce, { props: { modelValue: true, title: '密钥', warning: '…', items }, attachTo: document.body })
    await flushPromises()
    ;(document.querySelector('[data-testid="secret-client-secret-copy"]') as HTMLButtonElement).click()
    await flushPromises()
    expect(document.activeElement?.id).toBe('secret-client-secret')
  })

  it('comes with the token request, its scope when chosen', () => {
    expect(tokenExample('tb_1', 'xyz', 'org.read stats.read')).toMatch(/curl -u 'tb_1:xyz'[\s\S]*grant_type=client_credentials[\s\S]*scope=org\.read stats\.read[\s\S]*\/api\/v1\/oauth\/token$/)
    expect(tokenExample('tb_1', 'xyz')).not.toContain('scope=')
  })
})

describe('webhook forms', () => {
  it('offer every event of the API but ping, each with a name in both languages', () => {
    expect(EVENTS_COMPLETE).toBe(true)
    expect(SUBSCRIBABLE_EVENTS).not.toContain('ping')
    for (const e of [...SUBSCRIBABLE_EVENTS, 'ping']) {
      expect(i18n.global.te(eventKey(e), 'zh-CN'), e).toBe(true)
      expect(i18n.global.te(eventKey(e), 'en'), e).toBe(true)
    }
  })

  it('are checked as the server checks them', () => {
    const ok = { name: 'jwc-sync', url: 'https://jwc.example.edu/hooks', events: ['affair.completed'] }
    expect(checkHook(ok, { name: true })).toEqual({})
    expect(Object.keys(checkHook({ name: '教务', url: 'ftp://x', events: [], secret: 'short' }, { name: true })).sort()).toEqual(['events', 'name', 'secret', 'url'])
    expect(checkHook({ ...ok, url: 'https://user:pw@example.edu/' }).url).toBeTruthy()
    expect(checkHook({ ...ok, url: 'http://127.0.0.1:9000/hook', secret: 'x'.repeat(16) })).toEqual({})
    // The name is fixed once created: an edit does not check it.
    expect(checkHook({ ...ok, name: '' })).toEqual({})
  })
})

describe('roles for a system account', () => {
  it('does not offer roles granting more than the caller holds', async () => {
    const roles: Schema<'RoleView'>[] = [
      { id: uuid(1), code: 'handler', name: '经办人', description: '', builtin: true, permissions: ['task.handle', 'org.read'], version: 1 },
      { id: uuid(2), code: 'integrator', name: '第三方系统', description: '', builtin: true, permissions: ['api.integrate'], version: 1 },
    ]
    const rows = ref([{ role_id: '', scope: 'all' as const, department_id: null }])
    const w = mount(RoleAssignmentEditor, {
      props: { modelValue: rows.value, roles, departments: [], supervised: [], held: new Set(['task.handle', 'org.read', 'settings.manage']) },
      attachTo: document.body,
    })
    await w.find('.el-select__wrapper').trigger('click')
    await flushPromises()
    const options = [...document.querySelectorAll('.el-select-dropdown__item')]
    const integrator = options.find((o) => o.textContent?.includes('第三方系统'))
    expect(integrator?.textContent).toContain('超出您的权限')
    expect(integrator?.classList.contains('is-disabled')).toBe(true)
    expect(options.find((o) => o.textContent?.includes('经办人'))?.classList.contains('is-disabled')).toBe(false)
    w.unmount()
  })
})

describe('a webhook’s delivery log', () => {
  const HOOK = uuid(50)
  const hook: Schema<'WebhookView'> = {
    id: HOOK,
    name: 'jwc-sync',
    url: 'http://127.0.0.1:9000/hook',
    events: ['affair.completed'],
    department_id: null,
    active: true,
    created_at: '2026-12-02T01:00:00Z',
    updated_at: '2026-12-02T01:00:00Z',
    version: 3,
  }
  const delivery = (n: number, status: Schema<'DeliveryStatus'>, change: Partial<Schema<'DeliveryView'>> = {}): Schema<'DeliveryView'> => ({
    id: uuid(100 + n),
    webhook_id: HOOK,
    event: 'affair.completed',
    status,
    attempts: 1,
    next_attempt_at: '2026-12-02T02:00:00Z',
    payload: { id: uuid(100 + n), event: 'affair.completed', data: { number: `SW${n}` } },
    created_at: '2026-12-02T01:30:00Z',
    ...change,
  })

  async function page(items: Schema<'DeliveryView'>[]) {
    const api = fakeApi({
      'GET /api/v1/webhooks/*/deliveries': () => jsonResponse(200, { items, total: items.length, page: 1, page_size: 20 }),
      'GET /api/v1/webhooks/*': () => jsonResponse(200, hook),
      'GET /api/v1/departments': () => jsonResponse(200, []),
      'POST /api/v1/webhooks/*/ping': () => jsonResponse(202, delivery(9, 'pending', { event: 'ping', attempts: 0 })),
      'POST /api/v1/webhook-deliveries/*/redeliver': () => jsonResponse(202, delivery(2, 'pending', { attempts: 0 })),
      'PUT /api/v1/webhooks/*': () => jsonResponse(200, { ...hook, active: false, version: 4 }),
    })
    const router = createRouter({
      history: createMemoryHistory(),
      routes: [
        { path: '/admin/integrations/webhooks', name: 'admin-webhooks', component: { template: '<div />' } },
        { path: '/admin/integrations/webhooks/:id', name: 'admin-webhook', component: WebhookDetail },
      ],
    })
    await router.push(`/admin/integrations/webhooks/${HOOK}`)
    const w = mount(WebhookDetail, { global: { plugins: [router] }, attachTo: document.body })
    await flushPromises()
    return { w, api }
  }

  it('lists each delivery with status, attempts and response code; redelivers what was not delivered', async () => {
    const { w, api } = await page([
      delivery(1, 'delivered', { last_status: 204, delivered_at: '2026-12-02T01:30:01Z' }),
      delivery(2, 'failed', { attempts: 8, last_status: 500, last_error: 'HTTP 500 Internal Server Error' }),
    ])
    const rows = w.findAll('[data-testid="delivery-list"] > li')
    expect(rows.map((r) => r.attributes('data-status'))).toEqual(['delivered', 'failed'])
    expect(rows[0]?.find('[data-testid="delivery-code"]').text()).toContain('204')
    expect(rows[1]?.text()).toContain('已尝试 8 次')
    expect(rows[1]?.text()).toContain('HTTP 500')
    expect(rows[0]?.find(`[data-testid="redeliver-${uuid(101)}"]`).exists()).toBe(false)
    await rows[1]?.find(`[data-testid="redeliver-${uuid(102)}"]`).trigger('click')
    await flushPromises()
    expect(api.calls.some((c) => c.method === 'POST' && c.path === `/api/v1/webhook-deliveries/${uuid(102)}/redeliver`)).toBe(true)
    // The payload, on request.
    await rows[1]?.findAll('button').find((b) => b.text() === '查看内容')?.trigger('click')
    expect(w.find(`#payload-${uuid(102)}`).text()).toContain('"number": "SW2"')
    w.unmount()
  })

  it('pings, and sends the edited hook with the version read', async () => {
    const { w, api } = await page([])
    expect(w.text()).toContain('暂无投递记录')
    await w.find('[data-testid="hook-ping"]').trigger('click')
    await flushPromises()
    expect(api.calls.filter((c) => c.path.endsWith('/deliveries')).length).toBe(2)
    const box = document.querySelector('[data-event="certificate.issued"] input') as HTMLInputElement
    box.click()
    await flushPromises()
    await w.find('[data-testid="hook-edit"]').trigger('submit')
    await flushPromises()
    const put = api.calls.find((c) => c.method === 'PUT')
    expect(put?.body).toEqual({ url: hook.url, events: ['affair.completed', 'certificate.issued'], department_id: null, active: true, version: 3 })
    w.unmount()
  })
})
