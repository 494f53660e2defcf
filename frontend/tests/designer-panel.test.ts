// The designer's properties panel and what it writes into <tongban:config>: the panel emits the
// node's new config, the bridge writes it (and outcomes, conditions, default flows) into the BPMN
// document through modeling commands, and the definition read back from the document — as the
// server reads it — carries the change.
import { flushPromises, mount } from '@vue/test-utils'
import { beforeAll, describe, expect, it } from 'vitest'

import PropertiesPanel, { type ProcessMeta } from '@/components/designer/PropertiesPanel.vue'
import { DesignerBridge, serializeConfig, type ElementView } from '@/components/designer/bpmn/bridge'
import { createModdle, definitionFromBpmn, definitionFromModdle, parseBpmn } from '@/components/designer/bpmn/convert'
import type { MElement, MProcess } from '@/components/designer/bpmn/elements'
import type { DiagramElement } from '@/components/designer/bpmn/modules'
import type { FormDefinition, NodeConfig } from '@/components/designer/bpmn/tongban'
import { loadDesignerMessages } from '@/locales/designer'

import leaveXml from '../../backend/engine/tests/fixtures/bpmn/leave.bpmn?raw'

beforeAll(() => loadDesignerMessages())

const form: FormDefinition = {
  fields: [
    { key: 'days', label: '请假天数', kind: { type: 'number', min: 0.5 }, required: true },
    { key: 'reviewer', label: '审核人', kind: { type: 'user' } },
    { key: 'depts', label: '相关部门', kind: { type: 'department', multiple: true } },
    { key: 'counsellor_opinion', label: '辅导员意见', kind: { type: 'textarea' } },
  ],
}
const meta: ProcessMeta = { name: '学生请假', description: '', department_id: null }

function viewOf(partial: Partial<ElementView>): ElementView {
  return {
    id: 'task',
    kind: 'user_task',
    type: 'bpmn:UserTask',
    name: '审核',
    config: {},
    configProblem: null,
    outcome: 'completed',
    condition: '',
    conditional: false,
    isDefault: false,
    outgoing: [],
    defaultFlow: null,
    ...partial,
  }
}

async function panel(view: ElementView) {
  const w = mount(PropertiesPanel, {
    props: { view, form, meta, roles: [], departments: [], certificateTypes: [], problems: [] },
    attachTo: document.body,
  })
  await flushPromises()
  return w
}
type Panel = Awaited<ReturnType<typeof panel>>
const configs = (w: Panel) => (w.emitted('config') ?? []).map((e) => e[0] as NodeConfig)
const radio = (w: Panel, value: string) => w.find(`input[type="radio"][value="${value}"]`)

describe('the properties panel of a user task', () => {
  const base: NodeConfig = { assignees: [{ type: 'class_counsellor' }], mode: { type: 'single' }, field_access: { counsellor_opinion: 'editable' } }

  it('writes a countersign by share, keeping the rest of the config', async () => {
    const w = await panel(viewOf({ config: base }))
    await radio(w, 'percent').setValue(true)
    await flushPromises()
    expect(configs(w).at(-1)).toEqual({ ...base, mode: { type: 'parallel', completion: { percent: 60 } } })
    await radio(w, 'any').setValue(true)
    expect(configs(w).at(-1)?.mode).toEqual({ type: 'parallel', completion: 'any' })
    await radio(w, 'sequential').setValue(true)
    expect(configs(w).at(-1)?.mode).toEqual({ type: 'sequential' })
    w.unmount()
  })

  it('writes the opinion requirement and the time limit in working days', async () => {
    const w = await panel(viewOf({ config: base }))
    await w.find('[data-testid="prop-opinion-required"] input').setValue(true)
    expect(configs(w).at(-1)).toEqual({ ...base, opinion_required: true })
    const limit = w.find('input#prop-limit')
    await limit.setValue('3')
    await limit.trigger('blur')
    await flushPromises()
    expect(configs(w).at(-1)).toEqual({ ...base, time_limit: { amount: 3, unit: 'working_days' } })
    w.unmount()
  })

  it('writes field access for every field at once, and drops it when all are back to read-only', async () => {
    const w = await panel(viewOf({ config: base }))
    const setAll = (label: string) => w.findAll('.access__all button').find((b) => b.text() === label)
    await setAll('必填')?.trigger('click')
    expect(configs(w).at(-1)?.field_access).toEqual({ days: 'required', reviewer: 'required', depts: 'required', counsellor_opinion: 'required' })
    await setAll('只读')?.trigger('click')
    expect('field_access' in (configs(w).at(-1) ?? {})).toBe(false)
    w.unmount()
  })

  it('adds assignee rules and offers every kind the engine resolves', async () => {
    const w = await panel(viewOf({ config: base }))
    await w.find('[data-testid="rule-add"]').trigger('click')
    expect(configs(w).at(-1)?.assignees).toEqual([{ type: 'class_counsellor' }, { type: 'applicant_department_head' }])
    w.unmount()
    // A rule of every kind shows its own controls, each labelled.
    const all: NodeConfig['assignees'] = [
      { type: 'users', users: [] },
      { type: 'role', code: 'handler' },
      { type: 'position', kind: 'president' },
      { type: 'department_head', of: { field: 'depts' } },
      { type: 'supervising_leader', of: { department: 'xgc' } },
      { type: 'form_field', field: 'reviewer' },
      { type: 'applicant_picks', key: 'reviewer_pick' },
      { type: 'previous_handler_leader' },
    ]
    // (Element Plus selects stubbed: a dozen real ones take seconds to mount in happy-dom.)
    const v = mount(PropertiesPanel, {
      props: { view: viewOf({ config: { assignees: all, mode: { type: 'single' } } }), form, meta, roles: [], departments: [], certificateTypes: [], problems: [] },
      global: { stubs: { ElSelect: { props: ['id'], template: '<select :id="id"><slot /></select>' }, ElOption: true } },
    })
    await flushPromises()
    for (const id of ['assignees-rule-0-users', 'assignees-rule-1-role', 'assignees-rule-2-position', 'assignees-rule-3-dfield', 'assignees-rule-4-dept', 'assignees-rule-5-field', 'assignees-rule-6-key']) {
      expect(v.find(`#${id}`).exists(), id).toBe(true)
      expect(v.find(`label[for="${id}"]`).exists(), `label of ${id}`).toBe(true)
    }
    v.unmount()
  })
})

describe('the properties panel of other elements', () => {
  it('sets a rejecting end', async () => {
    const w = await panel(viewOf({ id: 'end', kind: 'end', type: 'bpmn:EndEvent' }))
    await radio(w, 'rejected').setValue(true)
    expect(w.emitted('outcome')?.at(-1)).toEqual(['rejected'])
    w.unmount()
  })

  it('checks a gateway condition as CEL and sends it on change', async () => {
    const w = await panel(viewOf({ id: 'f_long', kind: 'flow', type: 'bpmn:SequenceFlow', conditional: true }))
    const box = w.find('textarea[data-testid="prop-condition"]')
    await box.setValue('form.days >')
    expect(w.find('#prop-condition-help').text()).toContain('表达式有误')
    await box.setValue('form.days > 3')
    await box.trigger('change')
    expect(w.find('#prop-condition-help').text()).not.toContain('表达式有误')
    expect(w.emitted('condition')?.at(-1)).toEqual(['form.days > 3'])
    w.unmount()
  })

  it('tells that a flow not leaving a gateway takes no condition', async () => {
    const w = await panel(viewOf({ id: 'f1', kind: 'flow', type: 'bpmn:SequenceFlow', conditional: false, condition: 'form.days > 1' }))
    expect(w.find('textarea[data-testid="prop-condition"]').exists()).toBe(false)
    expect(w.text()).toContain('不能带条件')
    w.unmount()
  })

  it('says what cannot run', async () => {
    const w = await panel(viewOf({ id: 'script', kind: 'other', type: 'bpmn:ScriptTask' }))
    expect(w.text()).toContain('Tongban 无法运行此类元素')
    w.unmount()
  })
})

/** A document in moddle with the modeling commands the bridge uses, applied directly. */
async function documentOf(xml: string) {
  const moddle = createModdle()
  const defs = await parseBpmn(xml, moddle)
  const process = defs.rootElements?.[0] as MProcess
  const bos = new Map((process.flowElements ?? []).map((e) => [e.id as string, e]))
  const elements = new Map<string, DiagramElement>()
  const root: DiagramElement = { id: process.id as string, type: 'bpmn:Process', businessObject: process }
  for (const [id, bo] of bos) elements.set(id, { id, type: bo.$type, businessObject: bo })
  for (const [id, bo] of bos) {
    const el = elements.get(id) as DiagramElement
    const src = bo.sourceRef as MElement | undefined
    if (src) el.source = elements.get(src.id as string)
    el.outgoing = [...elements.values()].filter((e) => (e.businessObject.sourceRef as MElement | undefined) === bo)
  }
  const set = (target: MElement, props: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(props)) target.set(k, v)
  }
  const host = {
    get(name: string): unknown {
      switch (name) {
        case 'modeling':
          return {
            updateModdleProperties: (_el: DiagramElement, target: MElement, props: Record<string, unknown>) => set(target, props),
            updateProperties: (el: DiagramElement, props: Record<string, unknown>) => set(el.businessObject, props),
            updateLabel: (el: DiagramElement, name: string) => set(el.businessObject, { name }),
          }
        case 'bpmnFactory':
          return { create: (type: string, attrs?: Record<string, unknown>) => moddle.create(type, attrs) }
        case 'elementRegistry':
          return { get: (id: string) => elements.get(id), getAll: () => [...elements.values()] }
        case 'canvas':
          return { getRootElement: () => root }
        default:
          throw new Error(`no ${name}`)
      }
    },
  }
  const el = (id: string) => elements.get(id) as DiagramElement
  return { defs, moddle, bridge: new DesignerBridge(host), el, root }
}

describe('the bridge writes into the BPMN document', () => {
  it('what the panel emits reaches the definition the server would import', async () => {
    const doc = await documentOf(leaveXml)
    const view = doc.bridge.view(doc.el('college'))
    expect(view.config).toEqual({ assignees: [{ type: 'supervising_leader', of: 'applicant_department' }], mode: { type: 'single' } })
    const w = await panel(view)
    await radio(w, 'all').setValue(true)
    const emitted = configs(w).at(-1) as NodeConfig
    w.unmount()
    doc.bridge.setConfig(doc.el('college'), { ...emitted, opinion_required: true, time_limit: { amount: 2, unit: 'working_hours' } })
    const def = definitionFromModdle(doc.defs)
    expect(def.nodes.find((n) => n.id === 'college')).toEqual({
      id: 'college',
      name: '分管院领导审批',
      kind: {
        type: 'user_task',
        assignees: [{ type: 'supervising_leader', of: 'applicant_department' }],
        mode: { type: 'parallel', completion: 'all' },
        auto_approve_if_same_handler: false,
        opinion_required: true,
      },
      time_limit: { amount: 2, unit: 'working_hours' },
    })
    // Written out and read again, as the server would.
    const again = await definitionFromBpmn((await doc.moddle.toXML(doc.defs)).xml)
    expect(again).toEqual(def)
  })

  it('creates the config of an element that had none, and removes it when emptied', async () => {
    const doc = await documentOf(leaveXml)
    doc.bridge.setConfig(doc.el('start'), { field_access: { days: 'editable' } })
    expect(definitionFromModdle(doc.defs).nodes[0]?.field_access).toEqual({ days: 'editable' })
    const xml = (await doc.moddle.toXML(doc.defs)).xml
    expect(xml).toContain('<tongban:config>{"field_access":{"days":"editable"}}</tongban:config>')
    doc.bridge.setConfig(doc.el('start'), {})
    expect(definitionFromModdle(doc.defs).nodes[0]?.field_access).toBeUndefined()
    expect((await doc.moddle.toXML(doc.defs)).xml).not.toContain('<bpmn:startEvent id="start" name="提交申请">\n      <bpmn:extensionElements>')
  })

  it('writes the process config, outcomes, conditions and default flows', async () => {
    const doc = await documentOf(leaveXml)
    doc.bridge.setConfig(doc.root, { admins: ['admin-1', 'admin-2'], time_limit: { amount: 5, unit: 'working_days' } })
    doc.bridge.setOutcome(doc.el('end'), 'rejected')
    doc.bridge.setCondition(doc.el('f_short'), 'form.days <= 3')
    doc.bridge.setDefaultFlow(doc.el('days'), 'f_long')
    doc.bridge.setCondition(doc.el('f_long'), '')
    const def = await definitionFromBpmn((await doc.moddle.toXML(doc.defs)).xml)
    expect(def.admins).toEqual(['admin-1', 'admin-2'])
    expect(def.time_limit).toEqual({ amount: 5, unit: 'working_days' })
    expect(def.nodes.find((n) => n.id === 'end')?.kind).toEqual({ type: 'end', outcome: 'rejected' })
    expect(def.nodes.find((n) => n.id === 'days')?.kind).toEqual({ type: 'exclusive_gateway', default_flow: 'f_long' })
    expect(def.flows.find((f) => f.id === 'f_short')?.condition).toBe('form.days <= 3')
    expect(def.flows.find((f) => f.id === 'f_long')?.condition).toBeUndefined()
    // The gateway's view lists its flows and the default.
    const gw = doc.bridge.view(doc.el('days'))
    expect(gw.defaultFlow).toBe('f_long')
    expect(gw.outgoing.map((f) => f.id)).toEqual(['f_long', 'f_short'])
    expect(doc.bridge.view(doc.el('f_long'))).toMatchObject({ kind: 'flow', conditional: true, isDefault: true })
  })

  it('leaves empty members out of the config, as bpmn.rs writes it', () => {
    expect(serializeConfig({ assignees: [], mode: { type: 'single' }, opinion_required: false, field_access: {} })).toBe('{"mode":{"type":"single"}}')
    expect(serializeConfig({ admins: [] })).toBe('')
  })
})
