// Which diagram the designer opens a draft with: the one kept with the draft, else the newest
// version's when the draft still equals it, else the copy a browser kept before the API kept
// diagrams, else an automatic layout; a kept diagram that no longer draws the draft is not used.
import { afterEach, describe, expect, it, vi } from 'vitest'

import type { Schema } from '@/api'
import { definitionFromBpmn, sameDefinition } from '@/components/designer/bpmn/convert'
import type { ProcessDefinition } from '@/components/designer/bpmn/tongban'
import { diagramFor, forgetLegacyLayout, legacyLayout } from '@/components/designer/diagramSource'

const files = import.meta.glob<string>('./fixtures/server-bpmn/*.{bpmn,json}', { query: '?raw', import: 'default', eager: true })
const read = (name: string) => {
  const text = files[`./fixtures/server-bpmn/${name}`]
  if (text === undefined) throw new Error(`no fixture ${name}`)
  return text
}
const draft = JSON.parse(read('enrolment_certificate.json')) as ProcessDefinition
// The server's export, with a node moved as a modeller would: a layout of the same draft.
const drawn = read('enrolment_certificate.bpmn')
const moved = drawn.replace(/(<bpmndi:BPMNShape[^>]*bpmnElement="counsellor"[^>]*>\s*<dc:Bounds[^>]*x=")(\d+)/, (_, a: string, x: string) => `${a}${Number(x) + 333}`)
const other = read('meeting_room_booking.bpmn')

function detail(change: Partial<Schema<'ProcessDetail'>> = {}): Schema<'ProcessDetail'> {
  return { id: 'p1', key: draft.key, version: 4, draft, draft_diagram: null, latest_version: null, ...change } as Schema<'ProcessDetail'>
}
const noVersion = vi.fn(() => Promise.resolve(null))

afterEach(() => {
  localStorage.clear()
  noVersion.mockClear()
})

describe('the diagram a draft opens with', () => {
  it('is the one kept with the draft, as drawn', async () => {
    expect(moved).not.toBe(drawn)
    const r = await diagramFor(detail({ draft_diagram: moved }), noVersion)
    expect(r).toEqual({ text: moved, source: 'draft' })
    expect(noVersion).not.toHaveBeenCalled()
  })

  it('is the newest version’s when the draft has none and still equals it', async () => {
    const version = { number: 3, diagram: moved } as Schema<'VersionDetail'>
    const r = await diagramFor(detail({ latest_version: 3 }), (n) => Promise.resolve(n === 3 ? version : null))
    expect(r).toEqual({ text: moved, source: 'version' })
  })

  it('is the browser’s copy of the same draft version when the server has none, once', async () => {
    localStorage.setItem('tongban.designer.layout.p1', JSON.stringify({ version: 4, xml: moved }))
    expect(await diagramFor(detail(), noVersion)).toEqual({ text: moved, source: 'browser' })
    // Another draft version: the copy is stale.
    expect((await diagramFor(detail({ version: 5 }), noVersion)).source).toBe('auto')
    forgetLegacyLayout('p1')
    expect(legacyLayout('p1', 4)).toBeNull()
  })

  it('is laid out anew when no kept diagram draws the draft', async () => {
    localStorage.setItem('tongban.designer.layout.p1', JSON.stringify({ version: 4, xml: moved }))
    // The server's diagram wins over the browser's, and one of another process is not used.
    const r = await diagramFor(detail({ draft_diagram: other }), noVersion)
    expect(r.source).toBe('auto')
    expect(sameDefinition({ ...(await definitionFromBpmn(r.text)), key: draft.key, name: draft.name }, draft)).toBe(true)
  })
})
