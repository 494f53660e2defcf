import { isEditable, type FieldAccess, type FormDefinition } from '@/components/form/types'

import { api, call } from './client'
import type { components } from './schema'

type AffairView = components['schemas']['AffairView']
export type PickView = components['schemas']['PickView']

/** What an applicant needs to apply: the form, what they fill in, whom they pick. */
export interface ApplyForm {
  definition: FormDefinition
  /** The start node's access: fields it does not list are filled by handlers later (hidden here). */
  access: Record<string, FieldAccess>
  picks: PickView[]
  /** The version a new affair starts on, and whether it is a trial run the caller tests. */
  version: number
  isTest: boolean
}

/** Unlisted fields are not the applicant's; with no list at all, every field is. */
export function applicantAccess(definition: FormDefinition, start: Record<string, FieldAccess>): Record<string, FieldAccess> {
  const listed = Object.keys(start).length > 0
  return Object.fromEntries(
    definition.fields.map((f) => [f.key, !listed || isEditable(start[f.key]) ? 'editable' : 'hidden'] as const),
  )
}

/** The form to apply with from a guide (`GET /application-forms?guide_id=`, public). */
export async function formForGuide(guideId: string): Promise<ApplyForm> {
  const f = await call(api.GET('/api/v1/application-forms', { params: { query: { guide_id: guideId } } }))
  return {
    definition: f.form,
    access: applicantAccess(f.form, f.field_access),
    picks: f.picks,
    version: f.version,
    isTest: f.is_test,
  }
}

/**
 * The form to apply with for a process named by its key (`GET /application-forms?process_key=`):
 * the built-in processes, such as the requirement plan, are applied for by key.
 */
export async function formForProcess(processKey: string): Promise<ApplyForm & { processName: string }> {
  const f = await call(api.GET('/api/v1/application-forms', { params: { query: { process_key: processKey } } }))
  return {
    definition: f.form,
    access: applicantAccess(f.form, f.field_access),
    picks: f.picks,
    version: f.version,
    isTest: f.is_test,
    processName: f.process_name,
  }
}

export interface AffairForm {
  definition: FormDefinition
  /** What the caller may do with each field now (unlisted fields are read-only). */
  access: Record<string, FieldAccess>
}

/** An affair's form as the caller sees it: the definition and access the affair view carries. */
export function formForAffair(affair: AffairView): AffairForm {
  const definition = affair.form_definition
  const access: Record<string, FieldAccess> = {}
  for (const f of definition.fields) access[f.key] = affair.field_access[f.key] ?? 'read_only'
  return { definition, access }
}
