import { i18n } from '@/locales'

import {
  DEPARTMENTS_MAX,
  FILE_DEFAULT_MAX_FILES,
  TABLE_DEFAULT_MAX_ROWS,
  TEXTAREA_DEFAULT_MAX_LEN,
  TEXT_DEFAULT_MAX_LEN,
  type ApplicantAttrs,
  type FieldAccess,
  type FieldDef,
  type FormDefinition,
  type FormValues,
  isEditable,
} from './types'
import { fieldLabel, isEmpty, valuesAbove, visibleColumns, visibleFields } from './values'

/** Errors by field path (`copies`, `items[1].amount`), in the UI language. */
export type FieldErrors = Record<string, string>

const t = (key: string, args: Record<string, unknown> = {}) => i18n.global.t(key, args)
const chars = (s: string) => [...s].length

// The named patterns of form.rs, checked the same way.
const PATTERNS: Record<string, (s: string) => boolean> = {
  digits: (s) => /^[0-9]+$/.test(s),
  alphanumeric: (s) => /^[A-Za-z0-9]+$/.test(s),
  phone_cn: (s) => /^1[3-9][0-9]{9}$/.test(s),
  id_card_cn: idCardValid,
  email: emailValid,
  student_no: (s) => /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/.test(s),
  postcode_cn: (s) => /^[0-9]{6}$/.test(s),
}

/** 18-character resident ID: region, a real birth date from 1900, ISO 7064 MOD 11-2 check. */
export function idCardValid(raw: string): boolean {
  const s = raw.toUpperCase()
  if (!/^[1-9][0-9]{16}[0-9X]$/.test(s)) return false
  const y = Number(s.slice(6, 10))
  const m = Number(s.slice(10, 12))
  const d = Number(s.slice(12, 14))
  const date = new Date(Date.UTC(y, m - 1, d))
  if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return false
  if (date.getTime() > Date.now()) return false
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  const sum = weights.reduce((acc, w, i) => acc + w * Number(s[i]), 0)
  return '10X98765432'[sum % 11] === s[17]
}

function emailValid(s: string): boolean {
  if (s.length > 254) return false
  const at = s.lastIndexOf('@')
  if (at < 1) return false
  const local = s.slice(0, at)
  const domain = s.slice(at + 1)
  if (local.length > 64 || !/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/.test(local)) return false
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false
  const labels = domain.split('.')
  if (labels.length < 2) return false
  if (!labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/.test(l))) return false
  return /^[A-Za-z]{2,}$/.test(labels[labels.length - 1]!)
}

const MONEY = /^[0-9]{1,13}(\.[0-9]{1,2})?$/
const DATE = /^\d{4}-\d{2}-\d{2}$/
const moneyFen = (s: string) => {
  const [i, f = ''] = s.split('.')
  return BigInt(i!) * 100n + BigInt((f + '00').slice(0, 2))
}
const dateValid = (s: unknown): s is string =>
  typeof s === 'string' && DATE.test(s) && !Number.isNaN(new Date(`${s}T00:00:00Z`).getTime())
const days = (a: string, b: string) => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000) + 1

/** The first problem with one value, or null. */
export function validateField(f: FieldDef, v: unknown, locale: string, mustFill = false): string | null {
  const label = fieldLabel(f, locale)
  const k = f.kind
  if (isEmpty(v)) {
    if (!f.required && !mustFill) return null
    const choose = ['select', 'radio', 'checkbox', 'date', 'date_range', 'user', 'department', 'certificate', 'file'].includes(k.type)
    return t(choose ? 'form.requiredSelect' : 'form.required', { label })
  }
  switch (k.type) {
    case 'text': {
      if (typeof v !== 'string') return t('form.required', { label })
      const s = v.trim()
      const n = chars(s)
      if (k.min_len != null && n < k.min_len) return t('form.minLen', { label, n: k.min_len })
      const max = k.max_len ?? TEXT_DEFAULT_MAX_LEN
      if (n > max) return t('form.maxLen', { label, n: max })
      if (k.pattern && PATTERNS[k.pattern] && !PATTERNS[k.pattern]!(s)) return t(`form.pattern.${k.pattern}`, { label })
      return null
    }
    case 'textarea': {
      const max = k.max_len ?? TEXTAREA_DEFAULT_MAX_LEN
      return typeof v === 'string' && chars(v.trim()) > max ? t('form.maxLen', { label, n: max }) : null
    }
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return t('form.number', { label })
      if (k.integer && !Number.isInteger(v)) return t('form.integer', { label })
      if (k.min != null && v < k.min) return t('form.min', { label, n: k.min })
      if (k.max != null && v > k.max) return t('form.max', { label, n: k.max })
      return null
    }
    case 'money': {
      const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : ''
      if (!MONEY.test(s)) return t('form.money', { label })
      if (k.min != null && moneyFen(s) < moneyFen(k.min)) return t('form.min', { label, n: k.min })
      if (k.max != null && moneyFen(s) > moneyFen(k.max)) return t('form.max', { label, n: k.max })
      return null
    }
    case 'date': {
      if (!dateValid(v)) return t('form.date', { label })
      if (k.min && v < k.min) return t('form.dateMin', { label, d: k.min })
      if (k.max && v > k.max) return t('form.dateMax', { label, d: k.max })
      return null
    }
    case 'date_range': {
      const r = v as { start?: unknown; end?: unknown }
      if (!dateValid(r.start) || !dateValid(r.end)) return t('form.date', { label })
      if (r.start > r.end) return t('form.rangeOrder', { label })
      if (k.max_days != null && days(r.start, r.end) > k.max_days) return t('form.maxDays', { label, n: k.max_days })
      return null
    }
    case 'select':
    case 'radio':
    case 'checkbox': {
      const allowed = new Set(k.options.map((o) => o.value))
      const list = Array.isArray(v) ? v : [v]
      const many = k.type === 'checkbox' || (k.type === 'select' && k.multiple)
      if ((!many && Array.isArray(v)) || list.some((x) => !allowed.has(String(x)))) return t('form.option', { label })
      return null
    }
    case 'department': {
      if (k.multiple && Array.isArray(v) && v.length > DEPARTMENTS_MAX) return t('form.maxValues', { label, n: DEPARTMENTS_MAX })
      return null
    }
    case 'file': {
      const max = k.max_files ?? FILE_DEFAULT_MAX_FILES
      return Array.isArray(v) && v.length > max ? t('form.maxFiles', { label, n: max }) : null
    }
    case 'table': {
      const rows = Array.isArray(v) ? v.length : 0
      if (k.min_rows != null && rows < k.min_rows) return t('form.minRows', { label, n: k.min_rows })
      const max = k.max_rows ?? TABLE_DEFAULT_MAX_ROWS
      if (rows > max) return t('form.maxRows', { label, n: max })
      return null
    }
    default:
      return null
  }
}

/**
 * Check the form as the server will: visible fields only (hidden required fields are not
 * required), editable ones only when `access` is given, every row of every table.
 */
export function validateForm(
  def: FormDefinition,
  values: FormValues,
  opts: { locale: string; applicant?: ApplicantAttrs; access?: (key: string) => FieldAccess } = { locale: 'zh-CN' },
): FieldErrors {
  const errors: FieldErrors = {}
  const shown = visibleFields(def, values, opts.applicant)
  for (const f of def.fields) {
    if (!shown.has(f.key)) continue
    const access = opts.access?.(f.key)
    if (opts.access && !isEditable(access)) continue
    const v = values[f.key]
    const e = validateField(f, v, opts.locale, access === 'required')
    if (e) errors[f.key] = e
    if (f.kind.type === 'table' && Array.isArray(v)) {
      const cols = visibleColumns(f, valuesAbove(def, values, f.key, opts.applicant), opts.applicant)
      v.forEach((row: FormValues, i) => {
        for (const c of cols) {
          const ce = validateField(c, row?.[c.key], opts.locale)
          if (ce) errors[`${f.key}[${i}].${c.key}`] = ce
        }
      })
    }
  }
  return errors
}
