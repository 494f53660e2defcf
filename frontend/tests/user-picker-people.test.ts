// The people picker of applicants and handlers (user fields, picks, transfer, add signers, CC, a
// deputy) searches the campus directory GET /people — open to anyone signed in — never GET /users,
// which only reaches the caller's own org.read scope.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'

import UserPicker from '@/components/form/UserPicker.vue'
import { userName } from '@/composables/useDirectory'

import { fakeApi, problem } from './admin-fixtures'
import { jsonResponse } from './fixtures'

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const ZHANG = '01a234eb-2558-7084-a1b1-85c1d2f57d53'
type Vm = { $: { setupState: { search: (q: string) => Promise<void>; options: { id: string; name: string }[]; problem: string | null } } }

describe('the people picker', () => {
  it('searches GET /people by what was typed and labels people with their department', async () => {
    const api = fakeApi({
      'GET /api/v1/people': () => jsonResponse(200, [{ id: ZHANG, name: '张院长', department_id: 'd', department_name: '院领导' }]),
    })
    const w = mount(UserPicker, { props: { modelValue: null, inputId: 'p' }, attachTo: document.body })
    const vm = w.vm as unknown as Vm
    await vm.$.setupState.search('  张 ')
    await flushPromises()
    expect(api.calls.map((c) => [c.path, c.query.get('q')])).toEqual([['/api/v1/people', '张']])
    expect(api.calls.some((c) => c.path === '/api/v1/users')).toBe(false)
    expect(vm.$.setupState.options.map((o) => o.name)).toEqual(['张院长'])
    // The name is kept for the chosen id (shown once the list shows other people).
    expect(userName(ZHANG)).toBe('张院长')
    w.unmount()
  })

  it('sends nothing before something is typed (the directory is searched, not browsed)', async () => {
    const api = fakeApi({ 'GET /api/v1/people': () => jsonResponse(200, []) })
    const w = mount(UserPicker, { props: { modelValue: null, inputId: 'p' }, attachTo: document.body })
    await (w.vm as unknown as Vm).$.setupState.search('   ')
    await flushPromises()
    expect(api.calls).toHaveLength(0)
    w.unmount()
  })

  it('narrows to a department when asked, and shows the server’s reason when refused', async () => {
    const api = fakeApi({ 'GET /api/v1/people': () => problem(429, 'too_many_requests', '请求过于频繁，请稍后再试') })
    const w = mount(UserPicker, { props: { modelValue: null, inputId: 'p', departmentId: 'dept-1' }, attachTo: document.body })
    await (w.vm as unknown as Vm).$.setupState.search('王')
    await flushPromises()
    expect(api.calls[0]!.query.get('department_id')).toBe('dept-1')
    expect(w.find('[role="alert"]').text()).toBe('请求过于频繁，请稍后再试')
    w.unmount()
  })
})
