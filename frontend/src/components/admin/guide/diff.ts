import { i18n } from '@/locales'

import { diffLines, type LineOp } from '../diff'

import { editable, type EditableContent } from './content'
import type { Schema } from '@/api'

export interface Names {
  category?: (id: string) => string | undefined
  process?: (id: string) => string | undefined
  file?: (id: string) => string | undefined
}

export interface FieldDiff {
  key: string
  label: string
  before: string
  after: string
  lines: LineOp[]
}

/** The parts of a guide as text a person compares, one entry per 第十条 item, in the guide's order. */
export function contentText(c: EditableContent, names: Names = {}): { key: string; label: string; text: string }[] {
  const t = i18n.global.t
  const yes = (b: boolean) => (b ? t('common.yes') : t('common.no'))
  const orId = (f: ((id: string) => string | undefined) | undefined, id: string | null | undefined) => (id ? (f?.(id) ?? id) : '')
  const audience = (a: string) => (i18n.global.te(`audience.${a}`) ? t(`audience.${a}`) : a)
  return [
    { key: 'name', label: t('guideAdmin.f.name'), text: c.name },
    { key: 'name_en', label: t('guideAdmin.f.nameEn'), text: c.name_en ?? '' },
    { key: 'summary', label: t('guideAdmin.f.summary'), text: c.summary },
    { key: 'keywords', label: t('guideAdmin.f.keywords'), text: c.keywords },
    { key: 'category_id', label: t('guideAdmin.f.category'), text: orId(names.category, c.category_id) },
    { key: 'process_id', label: t('guideAdmin.f.process'), text: orId(names.process, c.process_id) },
    { key: 'agency', label: t('guideAdmin.f.agency'), text: c.agency ?? '' },
    { key: 'audiences', label: t('guideAdmin.f.audiences'), text: c.audiences.map(audience).join('、') || t('guideAdmin.everyone') },
    { key: 'channels', label: t('guideAdmin.f.channels'), text: c.channels.map((x) => t(`guideAdmin.channel.${x}`)).join('、') || t('guideAdmin.everyChannel') },
    { key: 'conditions', label: t('guideAdmin.f.conditions'), text: c.conditions },
    { key: 'time_limit_days', label: t('guideAdmin.f.timeLimit'), text: String(c.time_limit_days) },
    {
      key: 'fee',
      label: t('guideAdmin.f.fee'),
      text: [`${t('guideAdmin.f.free')}: ${yes(c.fee.free)}`, c.fee.standard && `${t('guideAdmin.f.feeStandard')}: ${c.fee.standard}`, c.fee.basis && `${t('guideAdmin.f.feeBasis')}: ${c.fee.basis}`]
        .filter(Boolean)
        .join('\n'),
    },
    {
      key: 'materials',
      label: t('guideAdmin.f.materials'),
      text: c.materials
        .map((m) =>
          [
            m.name,
            m.required ? t('guide.required') : t('guide.optional'),
            t(`guide.form.${m.form}`),
            t('guideAdmin.copiesN', { n: m.copies }),
            m.note,
            m.sample_file_id ? `${t('guideAdmin.f.sample')}: ${orId(names.file, m.sample_file_id)}` : '',
          ]
            .filter(Boolean)
            .join(' | '),
        )
        .join('\n'),
    },
    { key: 'sample_files', label: t('guideAdmin.f.sampleFiles'), text: c.sample_files.map((f) => `${f.title} (${orId(names.file, f.file_id)})`).join('\n') },
    { key: 'offline_steps', label: t('guideAdmin.f.offlineSteps'), text: c.offline_steps.join('\n') },
    {
      key: 'contact',
      label: t('guideAdmin.f.contact'),
      text: [
        c.contact.phone && `${t('guide.phone')}: ${c.contact.phone}`,
        c.contact.location && `${t('guide.location')}: ${c.contact.location}`,
        c.contact.office_hours && `${t('guide.officeHours')}: ${c.contact.office_hours}`,
        c.contact.email && `${t('guide.email')}: ${c.contact.email}`,
      ]
        .filter(Boolean)
        .join('\n'),
    },
    { key: 'legal_basis', label: t('guideAdmin.f.legalBasis'), text: c.legal_basis },
    { key: 'faq', label: t('guideAdmin.f.faq'), text: c.faq.map((f) => `${t('guideAdmin.q')}: ${f.question}\n${t('guideAdmin.a')}: ${f.answer}`).join('\n') },
  ]
}

/** What changed from `a` to `b`, part by part (unchanged parts left out). */
export function diffContent(a: EditableContent | Schema<'GuideContent'>, b: EditableContent | Schema<'GuideContent'>, names: Names = {}): FieldDiff[] {
  const x = contentText(editable(a), names)
  const y = contentText(editable(b), names)
  return x.flatMap((entry, i) => {
    const after = y[i]!.text
    if (entry.text === after) return []
    return [{ key: entry.key, label: entry.label, before: entry.text, after, lines: diffLines(entry.text, after) }]
  })
}
