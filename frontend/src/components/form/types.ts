/**
 * The engine's form definition (backend/engine/src/form.rs), as the server stores and sends it.
 *
 * The OpenAPI document types form definitions as free JSON (`draft_form`, `VersionDetail.form`),
 * so these types mirror the engine's serde format until the spec gains a `FormDefinition` schema
 * (frontend/API-GAPS.md); everything that comes from the API proper uses the generated types.
 */
/** `required`: editable, and the handler must fill it before approving (节点必填). */
export type FieldAccess = 'editable' | 'required' | 'read_only' | 'hidden'

export const isEditable = (a: FieldAccess | undefined) => a === 'editable' || a === 'required'

export interface Choice {
  value: string
  label: string
  label_en?: string
}

export type FieldKind =
  | { type: 'text'; min_len?: number; max_len?: number; pattern?: string }
  | { type: 'textarea'; max_len?: number }
  | { type: 'number'; min?: number; max?: number; integer?: boolean }
  | { type: 'money'; min?: string; max?: string }
  | { type: 'date'; min?: string; max?: string }
  | { type: 'date_range'; max_days?: number }
  | { type: 'select'; options: Choice[]; multiple?: boolean }
  | { type: 'radio'; options: Choice[] }
  | { type: 'checkbox'; options: Choice[] }
  | { type: 'user' }
  | { type: 'department'; multiple?: boolean }
  | { type: 'file'; max_files?: number; max_size_mb?: number; accept?: string[] }
  | { type: 'certificate'; certificate_type?: string }
  | { type: 'table'; columns: FieldDef[]; min_rows?: number; max_rows?: number }

export type FieldType = FieldKind['type']

export interface FieldDef {
  key: string
  label: string
  label_en?: string
  kind: FieldKind
  required?: boolean
  help?: string
  help_en?: string
  visible_if?: string
}

export interface FormDefinition {
  fields: FieldDef[]
}

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

/** Whether a value is a form definition (used where the API hands one over as free JSON). */
export function isFormDefinition(v: unknown): v is FormDefinition {
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray((v as FormDefinition).fields) &&
    (v as FormDefinition).fields.every((f) => typeof f?.key === 'string' && typeof f?.kind?.type === 'string')
  )
}
