// The requirement plan page: the opinion boxes of the approval form in the attachment's order
// (one per related department, 院长 and 书记 not required without such steps), and the steps the
// caller may take (`allowed_actions`), with what they send.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

import type { Schema } from '@/api'
import PlanActions from '@/components/requirements/PlanActions.vue'
import PlanSheet from '@/components/requirements/PlanSheet.vue'
import { opinionBoxes } from '@/components/requirements/opinions'
import { loadDesignerMessages } from '@/locales/designer'

import { jsonResponse } from './fixtures'

type Plan = Schema<'PlanView'>
type Opinion = Schema<'OpinionView'>

beforeAll(() => loadDesignerMessages())
afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const person = (id: string, name: string) => ({ id: `00000000-0000-7000-8000-${id.padStart(12, '0')}`, name })
const DEPT_IDS: Record<string, string> = { 教务处: '00000000-0000-7000-8000-000000000011', 财务处: '00000000-0000-7000-8000-000000000012' }
const opinion = (node_id: string, node_name: string, by: string, decision: string, text: string, at: string, department?: string): Opinion => ({
  node_id,
  node_name,
  by: person(by, by),
  decision,
  text,
  at,
  department: department ?? null,
  department_id: department ? (DEPT_IDS[department] ?? null) : null,
})

function plan(change: Partial<Plan> = {}): Plan {
  return {
    id: '00000000-0000-7000-8000-000000000001',
    number: 'SW2026120200003',
    affair_id: '00000000-0000-7000-8000-000000000002',
    status: 'in_approval',
    department: { id: '00000000-0000-7000-8000-000000000010', name: '学生工作处' },
    process_name: '学生证补办',
    applicant: person('20', '学工处管理员'),
    created_at: '2026-12-02T01:00:00Z',
    summary_text: '线上申请补办学生证',
    reasons: '减少学生跑腿',
    applied_on: '2026-12-02',
    contact_name: '王老师',
    contact_phone: '0731-1234567',
    has_leader_steps: false,
    related_departments: [
      { id: '00000000-0000-7000-8000-000000000011', name: '教务处' },
      { id: '00000000-0000-7000-8000-000000000012', name: '财务处' },
    ],
    files: [{ field: 'flowchart', label: '业务流程图', id: '00000000-0000-7000-8000-000000000030', filename: 'flow.bpmn' }],
    opinions: [
      opinion('applying_dept', '申请部门意见', '学工处处长', 'returned', '请补充联系人', '2026-12-02T02:00:00Z'),
      opinion('applying_dept', '申请部门意见', '学工处处长', 'approved', '同意申报', '2026-12-02T03:00:00Z'),
      opinion('applying_leader', '申请部门分管院领导意见', '分管学生工作副院长', 'approved', '同意', '2026-12-02T04:00:00Z'),
      opinion('related_depts', '流程相关职能部门意见', '教务处处长', 'approved', '教务处同意', '2026-12-02T05:00:00Z', '教务处'),
    ],
    testers: [],
    checklist: [],
    events: [],
    changes: [],
    allowed_actions: [],
    version: 7,
    ...change,
  }
}

describe('the opinion boxes', () => {
  it('follow the form: one per related department, 院长 and 书记 not required without such steps', () => {
    const boxes = opinionBoxes(plan())
    expect(boxes.map((b) => [b.node, b.department ?? null, b.opinions.length, b.notRequired])).toEqual([
      ['applying_dept', null, 2, false],
      ['applying_leader', null, 1, false],
      ['related_depts', '教务处', 1, false],
      ['related_depts', '财务处', 0, false],
      ['it_office', null, 0, false],
      ['it_leader', null, 0, false],
      ['president', null, 0, true],
      ['secretary', null, 0, true],
    ])
    const leaders = opinionBoxes(plan({ has_leader_steps: true }))
    expect(leaders.filter((b) => b.notRequired)).toEqual([])
  })

  it('match the related departments by id, not by their names (which need not be unique)', () => {
    const twins = plan({
      related_departments: [
        { id: '00000000-0000-7000-8000-000000000011', name: '办公室' },
        { id: '00000000-0000-7000-8000-000000000012', name: '办公室' },
      ],
      opinions: [
        { ...opinion('related_depts', '流程相关职能部门意见', '甲', 'approved', '甲同意', '2026-12-02T05:00:00Z'), department: '办公室', department_id: '00000000-0000-7000-8000-000000000012' },
        { ...opinion('related_depts', '流程相关职能部门意见', '乙', 'approved', '乙同意', '2026-12-02T06:00:00Z'), department: '其他部门', department_id: '00000000-0000-7000-8000-000000000099' },
        // Signed before the API gave ids: matched by name.
        { ...opinion('related_depts', '流程相关职能部门意见', '丙', 'approved', '丙同意', '2026-12-02T07:00:00Z'), department: '办公室', department_id: null },
      ],
    })
    const boxes = opinionBoxes(twins).filter((b) => b.node === 'related_depts')
    expect(boxes.map((b) => [b.department, b.opinions.map((o) => o.text)])).toEqual([
      ['办公室', ['丙同意']],
      ['办公室', ['甲同意']],
      ['其他部门', ['乙同意']],
    ])
  })

  it('are printed in order with decision, signer and date; the last two say 无需签署', async () => {
    const w = mount(PlanSheet, { props: { plan: plan() } })
    await flushPromises()
    const boxes = w.findAll('[data-testid^="opinion-"]').filter((b) => b.attributes('data-testid') !== 'opinion-not-required')
    expect(boxes.map((b) => b.attributes('data-testid'))).toEqual([
      'opinion-applying_dept',
      'opinion-applying_leader',
      'opinion-related_depts',
      'opinion-related_depts',
      'opinion-it_office',
      'opinion-it_leader',
      'opinion-president',
      'opinion-secretary',
    ])
    const text = (i: number) => boxes[i]?.text() ?? ''
    expect(text(0)).toContain('申请部门意见')
    expect(text(0)).toMatch(/退回.*请补充联系人.*同意.*同意申报/s)
    expect(text(0)).toContain('签署：学工处处长')
    expect(text(2)).toContain('流程相关职能部门意见（教务处）')
    expect(text(2)).toContain('教务处同意')
    expect(text(3)).toContain('（财务处）')
    expect(text(3)).toContain('待签署')
    expect(text(4)).toContain('信息化管理办公室意见')
    expect(text(4)).toContain('待签署')
    expect(w.findAll('[data-testid="opinion-not-required"]')).toHaveLength(2)
    expect(text(6)).toContain('院长意见')
    expect(text(7)).toContain('书记意见')
    expect(w.find('[data-testid="plan-leader-steps"]').text()).toBe('否')
    expect(w.text()).toContain('flow.bpmn')
  })

  it('ask for the president and the secretary when the process has their steps', async () => {
    const w = mount(PlanSheet, { props: { plan: plan({ has_leader_steps: true }) } })
    await flushPromises()
    expect(w.findAll('[data-testid="opinion-not-required"]')).toHaveLength(0)
    expect(w.find('[data-testid="opinion-president"]').text()).toContain('待签署')
  })
})

describe('the steps the caller may take', () => {
  const buttons = (w: ReturnType<typeof mount>) => w.findAll('[data-testid^="plan-action-"]').map((b) => b.attributes('data-testid'))

  it('are exactly the allowed ones, the two owners in one dialog', () => {
    const it = mount(PlanActions, { props: { plan: plan({ status: 'building', allowed_actions: ['scheme', 'technical_owner'] }) } })
    expect(buttons(it)).toEqual(['plan-action-scheme', 'plan-action-technical_owner'])
    const dept = mount(PlanActions, { props: { plan: plan({ status: 'online', allowed_actions: ['business_owner', 'technical_owner', 'request_change'] }) } })
    expect(buttons(dept)).toEqual(['plan-action-business_owner', 'plan-action-request_change'])
    expect(mount(PlanActions, { props: { plan: plan() } }).findAll('button')).toHaveLength(0)
  })

  it('a change request leaves for the apply page', async () => {
    const w = mount(PlanActions, { props: { plan: plan({ status: 'online', allowed_actions: ['request_change'] }) } })
    await w.find('[data-testid="plan-action-request_change"]').trigger('click')
    expect(w.emitted('requestChange')).toHaveLength(1)
  })

  it('the scheme is required, then sent with the planned date and the version read', async () => {
    const sent: { method: string; url: string; body: unknown }[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn(async (req: Request) => {
        sent.push({ method: req.method, url: new URL(req.url).pathname, body: await req.json() })
        return jsonResponse(200, plan({ status: 'building', scheme: '按方案建设', version: 8 }))
      }),
    )
    const w = mount(PlanActions, { props: { plan: plan({ status: 'building', allowed_actions: ['scheme'] }) }, attachTo: document.body })
    await w.find('[data-testid="plan-action-scheme"]').trigger('click')
    await flushPromises()
    const confirm = () => (document.querySelector('[data-testid="plan-action-confirm"]') as HTMLButtonElement).click()
    confirm()
    await flushPromises()
    expect(document.querySelector('[data-testid="plan-action-problem"]')?.textContent).toBe('请填写建设方案')
    expect(sent).toEqual([])
    const box = document.querySelector<HTMLTextAreaElement>('#plan-scheme')!
    box.value = '按方案建设'
    box.dispatchEvent(new Event('input'))
    await flushPromises()
    confirm()
    await flushPromises()
    expect(sent).toEqual([
      { method: 'PUT', url: '/api/v1/requirement-plans/00000000-0000-7000-8000-000000000001/scheme', body: { scheme: '按方案建设', planned_online_on: null, version: 7 } },
    ])
    expect((w.emitted('changed')?.[0]?.[0] as Plan).version).toBe(8)
    w.unmount()
  })

  it('a stale version (409) asks the page to reload', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(jsonResponse(409, { type: 'about:blank', title: 'Conflict', status: 409, code: 'stale_version', detail: '已被修改' }))))
    const w = mount(PlanActions, { props: { plan: plan({ status: 'trial', allowed_actions: ['testing_done'] }) }, attachTo: document.body })
    await w.find('[data-testid="plan-action-testing_done"]').trigger('click')
    await flushPromises()
    ;(document.querySelector('[data-testid="plan-action-confirm"]') as HTMLButtonElement).click()
    await flushPromises()
    expect(w.emitted('stale')).toHaveLength(1)
    w.unmount()
  })
})
