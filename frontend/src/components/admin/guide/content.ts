import type { Schema } from '@/api'

// A guide's content as the editor holds it: every optional part of GuideContent filled in, so
// that the form binds to plain values; sent back as it is (the server takes the whole content).
type C = Schema<'GuideContent'>
export type Material = Required<Schema<'Material'>>
export type SampleFile = Schema<'SampleFile'>
export type FaqEntry = Schema<'FaqEntry'>
export type EditableContent = Required<Omit<C, 'fee' | 'contact' | 'materials'>> & {
  fee: Required<Schema<'Fee'>>
  contact: Required<Schema<'Contact'>>
  materials: Material[]
}

export function emptyMaterial(): Material {
  return { name: '', required: true, form: 'electronic', copies: 1, note: '', sample_file_id: null }
}

export function editable(c: C): EditableContent {
  return {
    name: c.name,
    name_en: c.name_en ?? null,
    summary: c.summary ?? '',
    keywords: c.keywords ?? '',
    category_id: c.category_id ?? null,
    process_id: c.process_id ?? null,
    agency: c.agency ?? null,
    audiences: [...(c.audiences ?? [])],
    channels: [...(c.channels ?? [])],
    conditions: c.conditions ?? '',
    time_limit_days: c.time_limit_days,
    fee: { free: c.fee?.free ?? true, standard: c.fee?.standard ?? '', basis: c.fee?.basis ?? '' },
    materials: (c.materials ?? []).map((m) => ({
      name: m.name,
      required: m.required ?? true,
      form: m.form,
      copies: m.copies ?? 1,
      note: m.note ?? '',
      sample_file_id: m.sample_file_id ?? null,
    })),
    sample_files: (c.sample_files ?? []).map((f) => ({ ...f })),
    offline_steps: [...(c.offline_steps ?? [])],
    contact: {
      phone: c.contact?.phone ?? '',
      location: c.contact?.location ?? '',
      office_hours: c.contact?.office_hours ?? '',
      email: c.contact?.email ?? '',
    },
    legal_basis: c.legal_basis ?? '',
    faq: (c.faq ?? []).map((f) => ({ ...f })),
  }
}

export function emptyContent(name = ''): EditableContent {
  return editable({ name, time_limit_days: 0 })
}

/** What is sent: texts trimmed, empty optional texts as null, blank list lines dropped. */
export function toRequest(c: EditableContent): C {
  const opt = (s: string | null) => (s && s.trim() ? s.trim() : null)
  return {
    ...c,
    name: c.name.trim(),
    name_en: opt(c.name_en),
    agency: opt(c.agency),
    summary: c.summary.trim(),
    keywords: c.keywords.trim(),
    offline_steps: c.offline_steps.map((s) => s.trim()).filter(Boolean),
    materials: c.materials.map((m) => ({ ...m, name: m.name.trim(), note: m.note.trim() })),
    sample_files: c.sample_files.map((f) => ({ ...f, title: f.title.trim() })),
    faq: c.faq.map((f) => ({ question: f.question.trim(), answer: f.answer.trim() })),
    fee: { free: c.fee.free, standard: c.fee.standard.trim(), basis: c.fee.basis.trim() },
    contact: {
      phone: c.contact.phone.trim(),
      location: c.contact.location.trim(),
      office_hours: c.contact.office_hours.trim(),
      email: c.contact.email.trim(),
    },
  }
}

/** Whether two contents say the same (what the editor compares to know it has unsaved changes). */
export function sameContent(a: EditableContent, b: EditableContent): boolean {
  return JSON.stringify(toRequest(a)) === JSON.stringify(toRequest(b))
}
