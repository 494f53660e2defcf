import { isFormDefinition, type FieldAccess, type FormDefinition } from '@/components/form/types'
import { useAuthStore } from '@/store/auth'

import { api, call } from './client'
import { ApiError } from './problem'
import type { components } from './schema'

type GuideView = components['schemas']['GuideView']
type AffairView = components['schemas']['AffairView']

/**
 * Where form definitions come from.
 *
 * API GAP (frontend/API-GAPS.md §1–2): the API gives applicants no form definition to apply
 * with, and handlers none for the affair they handle (nor their node's field permissions). Until
 * it does, this module reads, in order:
 *   1. the field proposed in API-GAPS.md (`GuideView.form`, `AffairView.form_definition` and
 *      `AffairView.field_access`), once the server sends it — nothing else changes then;
 *   2. the published version (`GET /processes/{id}/versions/{n}`), which the server lets only
 *      process and guide managers read;
 * and otherwise fails with `form_unavailable` (apply page) or returns null (affair pages show the
 * data without labels). Everything form-related goes through here, so closing the gap is a
 * change of this file alone.
 */
export interface VersionForm {
  definition: FormDefinition
  /** Field access by node id (the version's `field_access` of each node). */
  nodeAccess: Record<string, Record<string, FieldAccess>>
  /** The start node's field access: what the applicant fills in. */
  startAccess: Record<string, FieldAccess>
}

const cache = new Map<string, Promise<VersionForm | null>>()

function versionForm(processId: string, number: number): Promise<VersionForm | null> {
  // Only process and guide managers may read versions: nobody else asks (and gets a 404).
  if (!useAuthStore().can(['process.manage', 'guide.manage'])) return Promise.resolve(null)
  const key = `${processId}@${number}`
  if (!cache.has(key)) {
    const p = call(api.GET('/api/v1/processes/{id}/versions/{number}', { params: { path: { id: processId, number } } }))
      .then((v) => {
        if (!isFormDefinition(v.form)) return null
        type Node = { id: string; kind?: { type?: string }; field_access?: Record<string, FieldAccess> }
        const nodes = (v.definition as { nodes?: Node[] }).nodes ?? []
        return {
          definition: v.form,
          nodeAccess: Object.fromEntries(nodes.map((n) => [n.id, n.field_access ?? {}])),
          startAccess: nodes.find((n) => n.kind?.type === 'start')?.field_access ?? {},
        }
      })
      .catch((e: unknown) => {
        cache.delete(key)
        // Not a manager of this process: the gap, not an error of the page.
        if (e instanceof ApiError && (e.status === 404 || e.status === 403)) return null
        throw e
      })
    cache.set(key, p)
  }
  return cache.get(key)!
}

export interface ApplyForm {
  definition: FormDefinition
  /**
   * What the applicant may fill: when the start node lists its fields, the others (opinions of
   * later steps) are hidden from the applicant; otherwise every field is editable.
   */
  access: Record<string, FieldAccess>
}

function applicantAccess(definition: FormDefinition, start: Record<string, FieldAccess> | undefined): Record<string, FieldAccess> {
  const listed = start && Object.keys(start).length > 0
  return Object.fromEntries(
    definition.fields.map((f) => {
      const a = start?.[f.key]
      return [f.key, !listed ? 'editable' : a === 'editable' || a === 'required' ? 'editable' : 'hidden']
    }),
  )
}

/** The form to apply with for a guide's online process. */
export async function formForGuide(guide: GuideView): Promise<ApplyForm> {
  const sent = guide as { form?: unknown; form_access?: Record<string, FieldAccess> }
  if (isFormDefinition(sent.form)) return { definition: sent.form, access: applicantAccess(sent.form, sent.form_access) }
  const version = guide.flow?.process_version
  if (guide.process_id && version) {
    const v = await versionForm(guide.process_id, version)
    if (v) return { definition: v.definition, access: applicantAccess(v.definition, v.startAccess) }
  }
  throw new ApiError({
    status: 0,
    code: 'form_unavailable',
    title: 'form_unavailable',
  })
}

export interface AffairForm {
  definition: FormDefinition
  /** What the caller may do with each field now (handlers: their node's access). */
  access: Record<string, FieldAccess>
}

/**
 * The affair's form definition and the caller's field access, or null when the API gives
 * neither. `nodeId` is the caller's pending task's node (handlers); without one every field is
 * read-only, except for `editableAll` (the applicant correcting a returned affair).
 */
export async function formForAffair(affair: AffairView, opts: { nodeId?: string | null; editableAll?: boolean } = {}): Promise<AffairForm | null> {
  const sent = affair as { form_definition?: unknown; field_access?: Record<string, FieldAccess> }
  let definition: FormDefinition | null = isFormDefinition(sent.form_definition) ? sent.form_definition : null
  let nodeAccess: Record<string, FieldAccess> | undefined = sent.field_access
  if (!definition) {
    const v = await versionForm(affair.process_id, affair.process_version)
    if (!v) return null
    definition = v.definition
    nodeAccess ??= opts.nodeId ? v.nodeAccess[opts.nodeId] : undefined
    if (opts.editableAll) return { definition, access: applicantAccess(definition, v.startAccess) }
  }
  const access: Record<string, FieldAccess> = {}
  for (const f of definition.fields) {
    const given = nodeAccess?.[f.key]
    access[f.key] = opts.editableAll ? (given === 'hidden' ? 'hidden' : 'editable') : (given ?? 'read_only')
  }
  return { definition, access }
}
