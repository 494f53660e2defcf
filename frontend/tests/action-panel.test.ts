import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'

import ActionPanel, { type ActionPayload } from '@/components/affair/ActionPanel.vue'
import type { Schema } from '@/api'

const timeline: Schema<'TimelineNode'>[] = [
  { node_id: 'start', name: '提交申请', kind: 'start', state: 'done', records: [], assignees: [], overdue: false },
  { node_id: 'counsellor', name: '辅导员审核', kind: 'user_task', state: 'done', records: [], assignees: [], overdue: false },
  { node_id: 'xgc_review', name: '学生工作处审核', kind: 'user_task', state: 'current', records: [], assignees: [], overdue: false },
  { node_id: 'end', name: '办结', kind: 'end', state: 'pending', records: [], assignees: [], overdue: false },
]

async function panel(allowed: string[]) {
  const w = mount(ActionPanel, { props: { allowed, timeline }, attachTo: document.body })
  await flushPromises()
  return w
}
const emitted = (w: Awaited<ReturnType<typeof panel>>) => (w.emitted('submit') ?? []).map((e) => e[0] as ActionPayload)

describe('ActionPanel', () => {
  it('offers only the actions the server allows', async () => {
    const w = await panel(['approve', 'reject'])
    expect(w.find('[data-testid="action-approve"]').exists()).toBe(true)
    expect(w.find('[data-testid="action-reject"]').exists()).toBe(true)
    expect(w.find('[data-testid="action-return"]').exists()).toBe(false)
    expect(w.find('[data-testid="action-more"]').exists()).toBe(false)
    w.unmount()
  })

  it('approves with the opinion written', async () => {
    const w = await panel(['approve', 'reject', 'return'])
    await w.find('textarea#task-comment').setValue('  情况属实，同意  ')
    await w.find('[data-testid="action-approve"]').trigger('click')
    expect(emitted(w)).toEqual([{ action: 'approve', comment: '情况属实，同意' }])
    w.unmount()
  })

  it('refuses to reject without an opinion', async () => {
    const w = await panel(['approve', 'reject'])
    await w.find('[data-testid="action-reject"]').trigger('click')
    expect(emitted(w)).toEqual([])
    expect(w.find('#task-comment-error').text()).toBe('请填写意见')
    await w.find('textarea#task-comment').setValue('材料不全')
    await w.find('[data-testid="action-reject"]').trigger('click')
    expect(emitted(w)).toEqual([{ action: 'reject', comment: '材料不全' }])
    w.unmount()
  })

  it('returns to a chosen earlier step, offering only steps that were done', async () => {
    const w = await panel(['approve', 'return'])
    await w.find('[data-testid="action-return"]').trigger('click')
    await flushPromises()
    const dialog = document.querySelector('[data-testid="action-dialog"]')!
    expect(dialog).not.toBeNull()
    // Pick "a chosen step", then confirming without a node or opinion is refused.
    const nodeRadio = [...dialog.querySelectorAll<HTMLInputElement>('input[type="radio"]')].find((r) => r.value === 'node')!
    nodeRadio.click()
    await flushPromises()
    ;(document.querySelector('[data-testid="action-confirm"]') as HTMLButtonElement).click()
    await flushPromises()
    expect(emitted(w)).toEqual([])
    expect(dialog.textContent).toContain('请填写意见')

    const vm = w.vm as unknown as { $: { setupState: { dialog: { node: string }; comment: string } } }
    vm.$.setupState.comment = '请辅导员重新核实'
    vm.$.setupState.dialog.node = 'counsellor'
    await flushPromises()
    ;(document.querySelector('[data-testid="action-confirm"]') as HTMLButtonElement).click()
    await flushPromises()
    expect(emitted(w)).toEqual([{ action: 'return', comment: '请辅导员重新核实', return_to: 'node', target_node_id: 'counsellor' }])
    w.unmount()
  })

  it('needs people for transfer', async () => {
    const w = await panel(['approve', 'transfer'])
    const vm = w.vm as unknown as { start: (a: string) => void } & { $: { setupState: { start: (a: string) => void } } }
    vm.$.setupState.start('transfer')
    await flushPromises()
    ;(document.querySelector('[data-testid="action-confirm"]') as HTMLButtonElement).click()
    await flushPromises()
    expect(emitted(w)).toEqual([])
    expect(document.querySelector('[data-testid="action-dialog"]')!.textContent).toContain('请选择人员')
    w.unmount()
  })
})
