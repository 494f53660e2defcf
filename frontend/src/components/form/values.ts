import { parse } from '@marcbachmann/cel-js'

import type { ApplicantAttrs, FieldDef, FormDefinition, FormValues } from './types'

/** Empty as the engine counts it: null, blank strings, [], or an object of empty values. */
export function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined) return true
  if (typeof v === 'string') return v.trim() === ''
  if (Array.isArray(v)) return v.length === 0
  if (typeof v === 'object') return Object.values(v).every(isEmpty)
  return false
}

/** The value as the engine would normalise it for conditions and submission (trimmed strings). */
function normaliseValue(f: FieldDef, v: unknown): unknown {
  if (isEmpty(v)) return undefined
  switch (f.kind.type) {
    case 'text':
    case 'textarea':
    case 'user':
    case 'department':
    case 'certificate':
      return typeof v === 'string' ? v.trim().replace(/\r\n?/g, '\n') : v
    case 'money':
      return typeof v === 'string' ? v.trim() : v
    case 'select':
    case 'checkbox':
      if (Array.isArray(v)) {
        const order = f.kind.options.map((o) => o.value)
        return [...v].sort((a, b) => order.indexOf(String(a)) - order.indexOf(String(b)))
      }
      return v
    case 'table': {
      if (!Array.isArray(v)) return v
      const cols = f.kind.columns
      return v.map((row) => {
        const out: FormValues = {}
        for (const c of cols) {
          const x = normaliseValue(c, (row as FormValues)?.[c.key])
          if (x !== undefined) out[c.key] = x
        }
        return out
      })
    }
    default:
      return v
  }
}

const compiled = new Map<string, ReturnType<typeof parse> | null>()
function compile(expr: string) {
  if (!compiled.has(expr)) {
    try {
      compiled.set(expr, parse(expr))
    } catch {
      compiled.set(expr, null)
    }
  }
  return compiled.get(expr) ?? null
}

/** JSON values as CEL sees them: whole numbers are `int`, like serde_json integers on the server. */
function toCel(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v
  if (Array.isArray(v)) return v.map(toCel)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toCel(x)]))
  return v
}

/**
 * Evaluate a `visible_if` condition as the engine does: over `applicant` and `form`; a condition
 * that cannot be evaluated (a missing field, a type error) counts as false.
 */
export function evaluateCondition(expr: string, form: FormValues, applicant: ApplicantAttrs): boolean {
  const fn = compile(expr)
  if (!fn) return false
  try {
    return fn({ form: toCel(form), applicant: toCel(applicant) }) === true
  } catch {
    return false
  }
}

/**
 * Which top-level fields are visible, top to bottom: each condition sees the normalised values of
 * the visible fields above it, so hiding cascades (engine semantics).
 */
export function visibleFields(def: FormDefinition, values: FormValues, applicant: ApplicantAttrs = {}): Set<string> {
  const shown = new Set<string>()
  const above: FormValues = {}
  for (const f of def.fields) {
    if (!f.visible_if || evaluateCondition(f.visible_if, above, applicant)) {
      shown.add(f.key)
      const v = normaliseValue(f, values[f.key])
      if (v !== undefined) above[f.key] = v
    }
  }
  return shown
}

/** Visible columns of a table field, given the fields above it. */
export function visibleColumns(table: FieldDef, above: FormValues, applicant: ApplicantAttrs = {}): FieldDef[] {
  if (table.kind.type !== 'table') return []
  return table.kind.columns.filter((c) => !c.visible_if || evaluateCondition(c.visible_if, above, applicant))
}

/** The values above a field (normalised, visible only): what its and its columns' conditions see. */
export function valuesAbove(def: FormDefinition, values: FormValues, key: string, applicant: ApplicantAttrs = {}): FormValues {
  const shown = visibleFields(def, values, applicant)
  const above: FormValues = {}
  for (const f of def.fields) {
    if (f.key === key) break
    if (!shown.has(f.key)) continue
    const v = normaliseValue(f, values[f.key])
    if (v !== undefined) above[f.key] = v
  }
  return above
}

/**
 * The data to submit: visible fields only (hidden ones are dropped, as the server drops them),
 * normalised, empty values left out.
 */
export function submissionData(def: FormDefinition, values: FormValues, applicant: ApplicantAttrs = {}): FormValues {
  const shown = visibleFields(def, values, applicant)
  const out: FormValues = {}
  for (const f of def.fields) {
    if (!shown.has(f.key)) continue
    let v = normaliseValue(f, values[f.key])
    if (v !== undefined && f.kind.type === 'table' && Array.isArray(v)) {
      const cols = new Set(visibleColumns(f, valuesAbove(def, values, f.key, applicant), applicant).map((c) => c.key))
      v = v.map((row: FormValues) => Object.fromEntries(Object.entries(row).filter(([k]) => cols.has(k))))
    }
    if (v !== undefined) out[f.key] = v
  }
  return out
}

/** A label in the UI language. */
export function fieldLabel(f: { label: string; label_en?: string | null }, locale: string): string {
  return locale === 'en' && f.label_en ? f.label_en : f.label
}
export function fieldHelp(f: FieldDef, locale: string): string | undefined {
  return (locale === 'en' && f.help_en ? f.help_en : f.help) ?? undefined
}
