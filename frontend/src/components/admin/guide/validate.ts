import { i18n } from '@/locales'

import type { EditableContent } from './content'

export type GuideErrors = Record<string, string>

// Control characters the server refuses: in one-line texts all, in long texts all but tab and
// line breaks.
 
const CONTROL_LINE = /[\u0000-\u001F\u007F-\u009F]/
 
const CONTROL_LONG = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/**
 * Check a guide's content as the server will, by the server's field paths (without `content.`):
 * `save` checks what every draft must satisfy (lengths, ranges, list sizes, the items of lists);
 * `publish` also what a guide must say before it goes into the hall (办理条件, a phone or a
 * location, the fee when it is not free, and the offline steps or location of a service handled
 * at the counter), as `POST /guides/{id}/publish` does.
 */
export function validateGuide(c: EditableContent, mode: 'save' | 'publish'): GuideErrors {
  const t = i18n.global.t
  const e: GuideErrors = {}
  const len = (path: string, v: string | null | undefined, max: number, opts: { min?: number; long?: boolean } = {}) => {
    const s = (v ?? '').trim()
    const n = [...s].length
    if (opts.min && n < opts.min) e[path] ??= t('guideAdmin.err.required')
    else if (n > max) e[path] ??= t('guideAdmin.err.tooLong', { max })
    else if ((opts.long ? CONTROL_LONG : CONTROL_LINE).test(v ?? '')) e[path] ??= t('guideAdmin.err.control')
  }
  len('name', c.name, 128, { min: 1 })
  len('name_en', c.name_en, 128)
  len('summary', c.summary, 500, { long: true })
  len('keywords', c.keywords, 500)
  len('agency', c.agency, 128)
  len('conditions', c.conditions, 8000, { long: true })
  len('legal_basis', c.legal_basis, 4000, { long: true })
  if (!Number.isInteger(c.time_limit_days) || c.time_limit_days < 0 || c.time_limit_days > 365) {
    e.time_limit_days = t('guideAdmin.err.timeLimit')
  }
  len('fee.standard', c.fee.standard, 1000, { long: true })
  len('fee.basis', c.fee.basis, 1000, { long: true })
  len('contact.phone', c.contact.phone, 100)
  len('contact.location', c.contact.location, 200)
  len('contact.office_hours', c.contact.office_hours, 200)
  len('contact.email', c.contact.email, 200)
  if (c.contact.email.trim() && !EMAIL.test(c.contact.email.trim())) e['contact.email'] ??= t('guideAdmin.err.email')

  if (c.materials.length > 50) e.materials = t('guideAdmin.err.tooMany', { max: 50 })
  c.materials.forEach((m, i) => {
    len(`materials[${i}].name`, m.name, 200, { min: 1 })
    len(`materials[${i}].note`, m.note, 1000, { long: true })
    if (!Number.isInteger(m.copies) || m.copies < 0 || m.copies > 99) e[`materials[${i}].copies`] = t('guideAdmin.err.copies')
  })
  if (c.sample_files.length > 20) e.sample_files = t('guideAdmin.err.tooMany', { max: 20 })
  c.sample_files.forEach((f, i) => {
    len(`sample_files[${i}].title`, f.title, 200, { min: 1 })
    if (!f.file_id) e[`sample_files[${i}].file_id`] = t('guideAdmin.err.fileRequired')
  })
  if (c.offline_steps.filter((s) => s.trim()).length > 30) e.offline_steps = t('guideAdmin.err.tooMany', { max: 30 })
  c.offline_steps.forEach((s, i) => {
    if (s.trim()) len(`offline_steps[${i}]`, s, 500)
  })
  if (c.faq.length > 50) e.faq = t('guideAdmin.err.tooMany', { max: 50 })
  c.faq.forEach((f, i) => {
    len(`faq[${i}].question`, f.question, 500, { min: 1, long: true })
    len(`faq[${i}].answer`, f.answer, 4000, { min: 1, long: true })
  })

  if (mode === 'publish') {
    if (!c.conditions.trim()) e.conditions ??= t('guideAdmin.err.conditions')
    if (!c.contact.phone.trim() && !c.contact.location.trim()) e.contact ??= t('guideAdmin.err.contact')
    if (!c.fee.free && !c.fee.standard.trim()) e['fee.standard'] ??= t('guideAdmin.err.feeStandard')
    if (!c.process_id && !c.offline_steps.some((s) => s.trim()) && !c.contact.location.trim()) {
      e.offline_steps ??= t('guideAdmin.err.offline')
    }
  }
  return e
}
