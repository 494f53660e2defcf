import type { components } from '@/api/schema'

type S = components['schemas']

/**
 * Form definitions as the API describes them (the engine's `FormDefinition`, see
 * backend/engine/src/form.rs): generated from openapi/openapi.json like every other API type.
 */
export type FormDefinition = S['FormDefinitionDoc']
export type FieldDef = S['FieldDefDoc']
export type FieldKind = S['FieldKindDoc']
export type FieldType = FieldKind['type']
export type Choice = S['ChoiceDoc']
/** `required`: editable, and the handler must fill it before approving (节点必填). */
export type FieldAccess = S['FieldAccessDoc']

export const isEditable = (a: FieldAccess | undefined) => a === 'editable' || a === 'required'

export type FormValues = Record<string, unknown>

/** Attributes of the applicant that conditions can read (`applicant.kind`, …). */
export interface ApplicantAttrs {
  kind?: string
  department_id?: string | null
  department_code?: string | null
}

/** Engine defaults (form.rs). */
export const TEXT_DEFAULT_MAX_LEN = 200
export const TEXTAREA_DEFAULT_MAX_LEN = 5000
export const FILE_DEFAULT_MAX_FILES = 10
export const FILE_DEFAULT_MAX_SIZE_MB = 20
export const TABLE_DEFAULT_MAX_ROWS = 100
export const DEPARTMENTS_MAX = 20
