import { i18n } from '@/locales'
import type { Schema } from '@/api'

/** A year's schedule as the editor holds it: what `PUT /holidays/{year}` takes (without the version). */
export interface Holiday {
  name: string
  name_en: string | null
  days_off: string[]
  make_up_workdays: string[]
}
export interface Schedule {
  source: string
  holidays: Holiday[]
}

export function fromView(v: Schema<'HolidayYearView'> | null): Schedule {
  return {
    source: v?.source ?? '',
    holidays: (v?.holidays ?? []).map((h) => ({
      name: h.name,
      name_en: h.name_en ?? null,
      days_off: [...h.days_off].sort(),
      make_up_workdays: [...(h.make_up_workdays ?? [])].sort(),
    })),
  }
}

export function toRequest(s: Schedule, version: number | null | undefined): Schema<'PutHolidayYear'> {
  return {
    source: s.source.trim() || null,
    holidays: s.holidays.map((h) => ({ name: h.name.trim(), name_en: h.name_en?.trim() || null, days_off: [...h.days_off].sort(), make_up_workdays: [...h.make_up_workdays].sort() })),
    ...(version ? { version } : {}),
  }
}

const pad = (n: number) => String(n).padStart(2, '0')
/** `YYYY-MM-DD` of a calendar date (no time zone involved). */
export const iso = (y: number, m: number, d: number) => `${y}-${pad(m)}-${pad(d)}`
/** Day of the week, 0 = Sunday, of a `YYYY-MM-DD` date. */
export function weekday(date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay()
}
export const isWeekend = (date: string) => weekday(date) === 0 || weekday(date) === 6
/** The date `n` days after `date`. */
export function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number]
  const t = new Date(Date.UTC(y, m - 1, d + n))
  return iso(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate())
}
export const daysInMonth = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate()

export type DayState = 'workday' | 'weekend' | 'off' | 'makeup'
export interface DayInfo {
  state: DayState
  /** The holiday the day belongs to (index into `holidays`). */
  holiday: number | null
}

/** What a date is under a schedule: a plain workday or weekend, a day off or a make-up workday of a holiday. */
export function dayInfo(s: Schedule, date: string): DayInfo {
  for (let i = 0; i < s.holidays.length; i++) {
    const h = s.holidays[i]!
    if (h.days_off.includes(date)) return { state: 'off', holiday: i }
    if (h.make_up_workdays.includes(date)) return { state: 'makeup', holiday: i }
  }
  return { state: isWeekend(date) ? 'weekend' : 'workday', holiday: null }
}

/** Whether a date is a working day under a schedule (as `GET /holidays/day` answers). */
export function isWorkingDay(s: Schedule, date: string): boolean {
  const d = dayInfo(s, date)
  return d.state === 'workday' || d.state === 'makeup'
}

export type DayChange = { kind: 'normal' } | { kind: 'off' | 'makeup'; holiday: number }

/**
 * The schedule with `dates` changed: back to the plain week (`normal`), days off of a holiday, or
 * make-up workdays of a holiday (weekends only; other dates are left as they are and returned in
 * `refused`). A date is in at most one list afterwards.
 */
export function setDays(s: Schedule, dates: string[], change: DayChange): { schedule: Schedule; refused: string[] } {
  const refused: string[] = []
  const holidays = s.holidays.map((h) => ({ ...h, days_off: [...h.days_off], make_up_workdays: [...h.make_up_workdays] }))
  for (const date of dates) {
    if (change.kind === 'makeup' && !isWeekend(date)) {
      refused.push(date)
      continue
    }
    for (const h of holidays) {
      h.days_off = h.days_off.filter((d) => d !== date)
      h.make_up_workdays = h.make_up_workdays.filter((d) => d !== date)
    }
    if (change.kind !== 'normal') {
      const h = holidays[change.holiday]
      if (!h) continue
      const list = change.kind === 'off' ? h.days_off : h.make_up_workdays
      list.push(date)
      list.sort()
    }
  }
  return { schedule: { ...s, holidays }, refused }
}

export interface ScheduleProblem {
  holiday: number | null
  date?: string
  message: string
}

/** The year's schedule checked as the server checks it (`WorkCalendar::from_data`). */
export function checkSchedule(s: Schedule, year: number): ScheduleProblem[] {
  const t = i18n.global.t
  const out: ScheduleProblem[] = []
  const seen = new Map<string, number>()
  s.holidays.forEach((h, i) => {
    const name = h.name.trim() || t('holidays.unnamed', { n: i + 1 })
    if (!h.name.trim()) out.push({ holiday: i, message: t('holidays.err.name', { n: i + 1 }) })
    if (!h.days_off.length) out.push({ holiday: i, message: t('holidays.err.noDays', { name }) })
    for (const d of [...h.days_off, ...h.make_up_workdays]) {
      if (Math.abs(Number(d.slice(0, 4)) - year) > 1) out.push({ holiday: i, date: d, message: t('holidays.err.outside', { date: d, year }) })
      const j = seen.get(d)
      if (j !== undefined) out.push({ holiday: i, date: d, message: t('holidays.err.twice', { date: d }) })
      else seen.set(d, i)
    }
    for (const d of h.make_up_workdays) {
      if (!isWeekend(d)) out.push({ holiday: i, date: d, message: t('holidays.err.makeupWeekday', { date: d }) })
    }
  })
  return out
}

export function sameSchedule(a: Schedule, b: Schedule): boolean {
  return JSON.stringify(toRequest(a, null)) === JSON.stringify(toRequest(b, null))
}
