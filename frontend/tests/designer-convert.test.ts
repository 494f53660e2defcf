// The designer's BPMN ↔ definition conversion against the files bpmn-js itself wrote
// (backend/engine/tests/fixtures/bpmn, made by generate.mjs with bpmn-moddle) and against what the
// server's export writes for every demo process (tests/fixtures/server-bpmn: `GET
// /processes/{id}/bpmn` and the draft of `GET /processes/{id}`, saved from a demo server).
import { describe, expect, it } from 'vitest'

import {
  BpmnImportError,
  bpmnFromDefinition,
  canonicalDefinition,
  definitionFromBpmn,
  nodeConfigProblem,
  sameDefinition,
} from '@/components/designer/bpmn/convert'
import type { ProcessDefinition } from '@/components/designer/bpmn/tongban'

const raw = (files: Record<string, string>) => Object.fromEntries(Object.entries(files).map(([path, text]) => [path.split('/').pop() as string, text]))
const ENGINE = raw(import.meta.glob<string>('../../backend/engine/tests/fixtures/bpmn/*.bpmn', { query: '?raw', import: 'default', eager: true }))
const SERVER = raw(import.meta.glob<string>('./fixtures/server-bpmn/*.{bpmn,json}', { query: '?raw', import: 'default', eager: true }))
const read = (dir: Record<string, string>, name: string) => {
  const text = dir[name]
  if (text === undefined) throw new Error(`no fixture ${name}`)
  return text
}

async function importError(xml: string): Promise<BpmnImportError> {
  try {
    await definitionFromBpmn(xml)
  } catch (e) {
    if (e instanceof BpmnImportError) return e
    throw e
  }
  throw new Error('imported')
}

describe('BPMN written by bpmn-js', () => {
  it('reads a gateway with a CEL condition and a default flow, a CC node and the process config', async () => {
    const def = await definitionFromBpmn(read(ENGINE, 'leave.bpmn'))
    expect(def.key).toBe('leave')
    expect(def.name).toBe('学生请假')
    expect(def.time_limit).toEqual({ amount: 3, unit: 'working_days' })
    expect(def.admins).toEqual(['admin-1'])
    expect(def.nodes.map((n) => [n.id, n.kind.type])).toEqual([
      ['start', 'start'],
      ['counsellor', 'user_task'],
      ['days', 'exclusive_gateway'],
      ['college', 'user_task'],
      ['notify', 'cc'],
      ['end', 'end'],
    ])
    const counsellor = def.nodes[1]
    expect(counsellor).toEqual({
      id: 'counsellor',
      name: '辅导员审批',
      kind: { type: 'user_task', assignees: [{ type: 'class_counsellor' }], mode: { type: 'single' }, auto_approve_if_same_handler: false },
      time_limit: { amount: 1, unit: 'working_days' },
      field_access: { counsellor_opinion: 'editable' },
    })
    expect(def.nodes[2]?.kind).toEqual({ type: 'exclusive_gateway', default_flow: 'f_short' })
    expect(def.nodes[4]?.kind).toEqual({ type: 'cc', recipients: [{ type: 'role', code: 'dept_admin' }] })
    expect(def.nodes[5]?.kind).toEqual({ type: 'end', outcome: 'completed' })
    expect(def.flows.find((f) => f.id === 'f_long')).toEqual({ id: 'f_long', from: 'days', to: 'college', name: '超过3天', condition: 'form.days > 3' })
    expect(def.flows).toHaveLength(6)
  })

  it('reads a parallel countersign with a percentage and a service task', async () => {
    const def = await definitionFromBpmn(read(ENGINE, 'countersign.bpmn'))
    const finance = def.nodes.find((n) => n.id === 'finance')
    expect(finance?.kind).toMatchObject({ type: 'user_task', mode: { type: 'parallel', completion: { percent: 60 } } })
    expect(def.nodes.find((n) => n.id === 'office')?.kind).toMatchObject({ mode: { type: 'parallel', completion: 'any' } })
    expect(def.nodes.find((n) => n.id === 'issue')?.kind).toEqual({ type: 'service_task', call: { type: 'notify', template: 'seal_registered' } })
    expect(def.nodes.filter((n) => n.kind.type === 'parallel_gateway').map((n) => n.id)).toEqual(['fork', 'join'])
    // Unnamed elements have an empty name, as the server reads them.
    expect(def.nodes[0]?.name).toBe('')
  })

  it('refuses the elements Tongban cannot run, all named in one error', async () => {
    const e = await importError(read(ENGINE, 'unsupported.bpmn'))
    expect(e.code).toBe('unsupported')
    expect(e.ids).toEqual(['script', 'wait'])
    expect(e.message).toBe('unsupported BPMN elements: script (scriptTask), wait (intermediateCatchEvent)')
  })

  for (const name of Object.keys(ENGINE).filter((f) => f.endsWith('.bpmn') && f !== 'unsupported.bpmn')) {
    it(`round-trips ${name}: definition → BPMN → the same definition, and the BPMN again unchanged`, async () => {
      const def = await definitionFromBpmn(read(ENGINE, name))
      const xml = await bpmnFromDefinition(def)
      const again = await definitionFromBpmn(xml)
      expect(canonicalDefinition(again)).toEqual(canonicalDefinition(def))
      expect(await bpmnFromDefinition(again)).toBe(xml)
    })
  }
})

describe("the server's export of every demo process", () => {
  const files = Object.keys(SERVER).filter((f) => f.endsWith('.bpmn'))
  it('has fixtures', () => expect(files.length).toBeGreaterThanOrEqual(6))
  for (const name of files) {
    it(`reads ${name} back into the draft it was exported from, and round-trips it`, async () => {
      const draft = JSON.parse(read(SERVER, name.replace('.bpmn', '.json'))) as ProcessDefinition
      const def = await definitionFromBpmn(read(SERVER, name))
      expect(canonicalDefinition(def)).toEqual(canonicalDefinition(draft))
      expect(sameDefinition(await definitionFromBpmn(await bpmnFromDefinition(def)), draft)).toBe(true)
    })
  }
})

describe('refusals as the server makes them', () => {
  const doc = (body: string, extra = '') =>
    `<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:tongban="https://tongban.dev/schema/bpmn/1.0" ${extra}>${body}</bpmn:definitions>`

  it('names a malformed config and the element it is on', async () => {
    const e = await importError(
      doc('<bpmn:process id="p"><bpmn:userTask id="u"><bpmn:extensionElements><tongban:config>{"assignees": 5}</tongban:config></bpmn:extensionElements></bpmn:userTask></bpmn:process>'),
    )
    expect(e.code).toBe('invalid')
    expect(e.ids).toEqual(['u'])
    const unknown = await importError(
      doc('<bpmn:process id="p"><bpmn:userTask id="u"><bpmn:extensionElements><tongban:config>{"colour": "red"}</tongban:config></bpmn:extensionElements></bpmn:userTask></bpmn:process>'),
    )
    expect(unknown.message).toContain('unknown field `colour`')
  })

  it('reads the config whatever prefix the document binds to the namespace, and rejected ends', async () => {
    const xml = `<b2:definitions xmlns:b2="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:x="https://tongban.dev/schema/bpmn/1.0"><b2:process id="p" name="P">
      <b2:startEvent id="s"/><b2:userTask id="u" name="审核"><b2:extensionElements><x:config>{"assignees":[{"type":"applicant_department_head"}]}</x:config></b2:extensionElements></b2:userTask>
      <b2:endEvent id="e" x:outcome="rejected"/>
      <b2:sequenceFlow id="f1" sourceRef="s" targetRef="u"/><b2:sequenceFlow id="f2" sourceRef="u" targetRef="e"/></b2:process></b2:definitions>`
    const def = await definitionFromBpmn(xml)
    expect(def.nodes[1]?.kind).toMatchObject({ assignees: [{ type: 'applicant_department_head' }] })
    expect(def.nodes[2]?.kind).toEqual({ type: 'end', outcome: 'rejected' })
  })

  it('refuses timer starts, groups, other condition languages, several processes and other documents', async () => {
    expect((await importError(doc('<bpmn:process id="p"><bpmn:startEvent id="s"><bpmn:timerEventDefinition/></bpmn:startEvent></bpmn:process>'))).ids).toEqual(['s'])
    expect((await importError(doc('<bpmn:process id="p"><bpmn:group id="g"/></bpmn:process>'))).ids).toEqual(['g'])
    const groovy = await importError(
      doc(
        '<bpmn:process id="p"><bpmn:startEvent id="a"/><bpmn:endEvent id="b"/><bpmn:sequenceFlow id="f" sourceRef="a" targetRef="b"><bpmn:conditionExpression language="groovy">x</bpmn:conditionExpression></bpmn:sequenceFlow></bpmn:process>',
      ),
    )
    expect([groovy.code, groovy.ids]).toEqual(['invalid', ['f']])
    expect((await importError(doc('<bpmn:process id="a"/><bpmn:process id="b"/>'))).code).toBe('process_count')
    expect((await importError(doc(''))).code).toBe('process_count')
    expect((await importError('<svg xmlns="http://www.w3.org/2000/svg"/>')).code).toBe('not_bpmn')
    expect((await importError('<bpmn:definitions')).code).toBe('xml')
    expect((await importError('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "a">]><x>&a;</x>')).code).toBe('xml')
  })

  it('ignores text annotations and their associations, as the server does', async () => {
    const def = await definitionFromBpmn(
      doc(
        '<bpmn:process id="p"><bpmn:startEvent id="s"/><bpmn:textAnnotation id="t"><bpmn:text>说明</bpmn:text></bpmn:textAnnotation><bpmn:association id="a" sourceRef="s" targetRef="t"/></bpmn:process>',
      ),
    )
    expect(def.nodes.map((n) => n.id)).toEqual(['s'])
  })

  it('checks config keys and shapes like serde', () => {
    expect(nodeConfigProblem({ mode: { type: 'parallel', completion: { percent: 60 } } })).toBeNull()
    expect(nodeConfigProblem({ mode: { type: 'parallel' } })).toBe('invalid mode')
    expect(nodeConfigProblem({ assignees: [{ type: 'department_head', of: { department: 'xgc' } }] })).toBeNull()
    expect(nodeConfigProblem({ assignees: [{ type: 'department_head', of: 'somewhere' }] })).toBe('invalid assignees')
    expect(nodeConfigProblem({ assignees: [{ type: 'role', code: 'x', extra: 1 }] })).toBe('invalid assignees')
    expect(nodeConfigProblem({ time_limit: { amount: -1, unit: 'hours' } })).toBe('invalid time_limit')
    expect(nodeConfigProblem({ field_access: { a: 'write' } })).toBe('invalid field_access')
    expect(nodeConfigProblem({ call: { type: 'webhook', hook: 'h' } })).toBeNull()
  })
})
