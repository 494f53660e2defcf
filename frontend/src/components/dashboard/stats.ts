import { i18n } from '@/locales'
import type { Schema } from '@/api'

import type { ChartOption } from './echarts'

// From `GET /stats/overview` to what the dashboard shows: the cards of the totals, the charts'
// options and their text alternatives, and sorted table rows. Pure functions, tested.

export type StatsRow = Schema<'StatsRow'>
export type DayCount = Schema<'DayCount'>
export type Metric = Exclude<keyof StatsRow, 'id' | 'name' | 'department_id'>

const t = (k: string, p?: Record<string, unknown>) => (p ? i18n.global.t(k, p) : i18n.global.t(k))
const fmt = (n: number, digits = 1) => {
  const locale = i18n.global.locale.value === 'en' ? 'en' : 'zh-CN'
  return n.toLocaleString(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 })
}

/** `0.953` → `95.3%`; none ended yet → `—`. */
export function formatRate(r: number | null | undefined): string {
  return r === null || r === undefined ? '—' : `${fmt(r * 100, 1)}%`
}
/** Working days with one decimal; `—` when there is nothing to measure. */
export function formatDays(d: number | null | undefined): string {
  return d === null || d === undefined ? '—' : fmt(d, 1)
}
export function formatScore(s: number | null | undefined): string {
  return s === null || s === undefined ? '—' : fmt(s, 2)
}

/** A metric of a row as shown in tables and cards. */
export function formatMetric(row: StatsRow, m: Metric): string {
  const v = row[m]
  if (m === 'on_time_rate') return formatRate(v)
  if (m === 'avg_days' || m === 'median_days' || m === 'p90_days' || m === 'max_days') return formatDays(v)
  if (m === 'satisfaction') return formatScore(v)
  return v === null || v === undefined ? '—' : fmt(v, 0)
}

export interface Card {
  key: string
  label: string
  value: string
  /** A second line: what the figure is made of. */
  hint?: string
  tone?: 'danger' | 'warning' | 'success'
}

/** The cards of the totals, in reading order. */
export function totalCards(total: StatsRow): Card[] {
  const ended = total.completed + total.rejected
  return [
    { key: 'submitted', label: t('dash.m.submitted'), value: formatMetric(total, 'submitted'), hint: t('dash.openNow', { n: total.open_now }) },
    { key: 'completed', label: t('dash.m.completed'), value: formatMetric(total, 'completed'), hint: t('dash.rejectedWithdrawn', { r: total.rejected, w: total.withdrawn }) },
    {
      key: 'on_time_rate',
      label: t('dash.m.on_time_rate'),
      value: formatRate(total.on_time_rate),
      hint: ended ? t('dash.onTimeOf', { n: total.on_time, of: ended }) : t('dash.noneEnded'),
      tone: total.on_time_rate === null || total.on_time_rate === undefined ? undefined : total.on_time_rate < 0.9 ? 'warning' : 'success',
    },
    { key: 'overdue_now', label: t('dash.m.overdue_now'), value: formatMetric(total, 'overdue_now'), tone: total.overdue_now > 0 ? 'danger' : undefined },
    { key: 'avg_days', label: t('dash.m.avg_days'), value: formatDays(total.avg_days), hint: t('dash.medianMax', { median: formatDays(total.median_days), max: formatDays(total.max_days) }) },
    { key: 'p90_days', label: t('dash.m.p90_days'), value: formatDays(total.p90_days) },
    { key: 'satisfaction', label: t('dash.m.satisfaction'), value: formatScore(total.satisfaction), hint: t('dash.ratings', { n: total.ratings }) },
    { key: 'yellow_cards', label: t('dash.m.yellow_cards'), value: formatMetric(total, 'yellow_cards'), tone: total.yellow_cards > 0 ? 'warning' : undefined },
    { key: 'red_cards', label: t('dash.m.red_cards'), value: formatMetric(total, 'red_cards'), tone: total.red_cards > 0 ? 'danger' : undefined },
    { key: 'violations', label: t('dash.m.violations'), value: formatMetric(total, 'violations'), hint: t('dash.returns', { n: total.returns }) },
  ]
}

const shortDay = (d: string) => d.slice(5)

/** Submissions and ends per day, as a line chart. */
export function dayLineOption(days: DayCount[]): ChartOption {
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: [t('dash.m.submitted'), t('dash.finished')], bottom: 0 },
    grid: { left: 36, right: 16, top: 16, bottom: 48 },
    xAxis: { type: 'category', data: days.map((d) => shortDay(d.day)), boundaryGap: false },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      { name: t('dash.m.submitted'), type: 'line', data: days.map((d) => d.submitted), color: '#1f6feb' },
      { name: t('dash.finished'), type: 'line', data: days.map((d) => d.finished), color: '#18a058' },
    ],
  }
}

/** What the line chart says, in words. */
export function daySummary(days: DayCount[]): string {
  if (!days.length) return t('dash.noDays')
  const submitted = days.reduce((n, d) => n + d.submitted, 0)
  const finished = days.reduce((n, d) => n + d.finished, 0)
  const peak = days.reduce((a, b) => (b.submitted > a.submitted ? b : a), days[0]!)
  return t('dash.daySummary', {
    from: days[0]!.day,
    to: days[days.length - 1]!.day,
    n: days.length,
    submitted,
    finished,
    peak: peak.submitted ? t('dash.peak', { day: peak.day, n: peak.submitted }) : '',
  })
}

export const BAR_METRICS: Metric[] = ['submitted', 'completed', 'overdue_now']
const BAR_COLORS: Partial<Record<Metric, string>> = { submitted: '#1f6feb', completed: '#18a058', overdue_now: '#d03050' }

/** Rows as horizontal bars (the `limit` biggest by submissions, biggest on top). */
export function barOption(rows: StatsRow[], metrics: Metric[] = BAR_METRICS, limit = 12): ChartOption {
  const top = [...rows].sort((a, b) => b.submitted - a.submitted).slice(0, limit).reverse()
  return {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { data: metrics.map((m) => t(`dash.m.${m}`)), bottom: 0 },
    grid: { left: 8, right: 24, top: 8, bottom: 40, containLabel: true },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: top.map((r) => r.name), axisLabel: { width: 110, overflow: 'truncate' } },
    series: metrics.map((m) => ({ name: t(`dash.m.${m}`), type: 'bar', data: top.map((r) => Number(r[m] ?? 0)), color: BAR_COLORS[m] })),
  }
}

/** What a bar chart says, in words: each shown row with its figures, biggest first. */
export function barSummary(rows: StatsRow[], metrics: Metric[] = BAR_METRICS, limit = 12): string {
  if (!rows.length) return t('dash.noRows')
  const top = [...rows].sort((a, b) => b.submitted - a.submitted).slice(0, limit)
  const parts = top.map((r) => `${r.name}：${metrics.map((m) => `${t(`dash.m.${m}`)} ${formatMetric(r, m)}`).join('，')}`)
  return t('dash.barSummary', { n: rows.length, rows: parts.join('；') })
}

/** Rows sorted by a metric; rows without a value (`null`) always last. */
export function sortRows(rows: StatsRow[], key: Metric | 'name', order: 'asc' | 'desc'): StatsRow[] {
  const dir = order === 'asc' ? 1 : -1
  return [...rows].sort((a, b) => {
    if (key === 'name') return dir * a.name.localeCompare(b.name, 'zh-CN')
    const x = a[key]
    const y = b[key]
    if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1
    if (y === null || y === undefined) return -1
    return dir * (Number(x) - Number(y)) || a.name.localeCompare(b.name, 'zh-CN')
  })
}

/** The columns of the department and process tables, in order. */
export const TABLE_METRICS: Metric[] = [
  'submitted',
  'completed',
  'rejected',
  'withdrawn',
  'returns',
  'open_now',
  'overdue_now',
  'on_time_rate',
  'avg_days',
  'median_days',
  'p90_days',
  'max_days',
  'satisfaction',
  'yellow_cards',
  'red_cards',
  'violations',
]

/** The days of the last `n` days up to today, China time: the dashboard's default period. */
export function lastDays(n: number, now = Date.now()): [string, string] {
  const day = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10)
  return [day(now - (n - 1) * 86_400_000), day(now)]
}

/** The year and quarter of a moment, China time. */
export function quarterOf(now = Date.now()): { year: number; quarter: number } {
  const d = new Date(now + 8 * 3600_000)
  return { year: d.getUTCFullYear(), quarter: Math.floor(d.getUTCMonth() / 3) + 1 }
}
