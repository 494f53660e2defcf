// Which diagram the designer opens a draft with. The layout drawn is kept with the draft
// (`ProcessDetail.draft_diagram`, sent as `UpdateProcess.diagram`) and with each version
// (`VersionDetail.diagram`); a kept diagram is used while the definition read from it still equals
// the draft. Designers from before the API kept diagrams left the last saved one in the browser
// (`tongban.designer.layout.<process id>`, with the draft version it was saved as): it is used
// once when the server has none and goes to the server with the next save. Else the draft is laid
// out anew (the same document the server's GET /processes/{id}/bpmn exports).
import type { Schema } from '@/api'

import { bpmnFromDefinition, definitionFromBpmn, sameDefinition } from './bpmn/convert'

type Detail = Schema<'ProcessDetail'>
export type DiagramSource = 'draft' | 'version' | 'browser' | 'auto'

const legacyKey = (pid: string) => `tongban.designer.layout.${pid}`

/** The diagram this browser kept for a draft version, from before the API kept diagrams. */
export function legacyLayout(pid: string, version: number): string | null {
  try {
    const raw = localStorage.getItem(legacyKey(pid))
    if (!raw) return null
    const c = JSON.parse(raw) as { version?: number; xml?: string }
    return c.version === version && typeof c.xml === 'string' ? c.xml : null
  } catch {
    return null
  }
}

/** Forget the browser's copy (the server keeps the diagram now). */
export function forgetLegacyLayout(pid: string) {
  try {
    localStorage.removeItem(legacyKey(pid))
  } catch {
    // Storage off: nothing kept.
  }
}

/** Whether a diagram still draws the draft (its definition read back equals the draft's). */
export async function fitsDraft(text: string | null | undefined, draft: Detail['draft']): Promise<boolean> {
  if (!text) return false
  try {
    const def = await definitionFromBpmn(text)
    return sameDefinition({ ...def, key: draft.key, name: draft.name }, draft)
  } catch {
    return false
  }
}

/**
 * The diagram to open `d` with and where it came from: the draft's own, else (a draft saved
 * without one that still equals its newest version) that version's as published, else the
 * browser's copy, else an automatic layout. `newestVersion` reads the newest version (null when
 * it cannot be read).
 */
export async function diagramFor(
  d: Detail,
  newestVersion: (number: number) => Promise<Schema<'VersionDetail'> | null>,
): Promise<{ text: string; source: DiagramSource }> {
  if (d.draft_diagram && (await fitsDraft(d.draft_diagram, d.draft))) return { text: d.draft_diagram, source: 'draft' }
  if (!d.draft_diagram) {
    if (d.latest_version) {
      const v = await newestVersion(d.latest_version)
      if (v?.diagram && (await fitsDraft(v.diagram, d.draft))) return { text: v.diagram, source: 'version' }
    }
    const legacy = legacyLayout(d.id, d.version)
    if (legacy && (await fitsDraft(legacy, d.draft))) return { text: legacy, source: 'browser' }
  }
  return { text: await bpmnFromDefinition(d.draft), source: 'auto' }
}
