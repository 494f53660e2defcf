// The supervision dashboard: from GET /stats/overview to the cards, the charts' series and their
// text alternatives, and the sorted tables (rows without a value last); the tables and the charts'
// summaries on the page.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'

import StatsTable from '@/components/dashboard/StatsTable.vue'
import {
  barOption,
  barSummary,
  dayLineOption,
  daySummary,
  formatDays,
  formatRate,
  lastDays,
  quarterOf,
  sortRows,
  totalCards,
  type StatsRow,
} from '@/components/dashboard/stats'
import { loadAdminMessages } from '@/locales/admin'

beforeAll(() => loadAdminMessages())
afterEach(() => {
  document.body.innerHTML = ''
})

function row(name: string, change: Partial<StatsRow> = {}): StatsRow {
  return {
    id: null,
    name,
    submitted: 0,
    completed: 0,
    rejected: 0,
    withdrawn: 0,
    returns: 0,
    open_now: 0,
    overdue_now: 0,
    on_time: 0,
    on_time_rate: null,
    avg_days: null,
    median_days: null,
    p90_days: null,
    max_days: null,
    satisfaction: null,
    ratings: 0,
    yellow_cards: 0,
    red_cards: 0,
    violations: 0,
    ...change,
  }
}
const xgc = row('学生工作处', { id: 'x', submitted: 12, completed: 9, rejected: 1, on_time: 8, on_time_rate: 0.8, avg_days: 1.25, p90_days: 2.6, overdue_now: 2, red_cards: 1 })
const jwc = row('教务处', { id: 'j', submitted: 5, completed: 5, on_time: 5, on_time_rate: 1, avg_days: 0.5 })
const hq = row('后勤保卫处', { id: 'h', submitted: 7 })

describe('figures to cards and charts', () => {
  it('formats rates, days and missing values', () => {
    expect(formatRate(0.9534)).toBe('95.3%')
    expect(formatRate(null)).toBe('—')
    expect(formatDays(1.25)).toBe('1.3')
    expect(formatDays(undefined)).toBe('—')
  })

  it('makes the total cards, with tones for what needs attention', () => {
    const total = row('合计', { submitted: 24, completed: 14, rejected: 1, withdrawn: 2, on_time: 13, on_time_rate: 13 / 15, avg_days: 1, median_days: 0.8, max_days: 4, p90_days: 2.6, overdue_now: 2, red_cards: 1, yellow_cards: 3, satisfaction: 4.5, ratings: 6, open_now: 7 })
    const cards = Object.fromEntries(totalCards(total).map((c) => [c.key, c]))
    expect(Object.keys(cards)).toEqual(['submitted', 'completed', 'on_time_rate', 'overdue_now', 'avg_days', 'p90_days', 'satisfaction', 'yellow_cards', 'red_cards', 'violations'])
    expect(cards.submitted).toMatchObject({ value: '24', hint: '在办 7 件' })
    expect(cards.on_time_rate).toMatchObject({ value: '86.7%', hint: '15 件中 13 件按时', tone: 'warning' })
    expect(cards.overdue_now!.tone).toBe('danger')
    expect(cards.avg_days).toMatchObject({ value: '1', hint: '中位数 0.8，最长 4' })
    expect(cards.satisfaction).toMatchObject({ value: '4.5', hint: '共 6 条评价（满分 5）' })
    expect(totalCards(row('合计')).find((c) => c.key === 'on_time_rate')).toMatchObject({ value: '—', hint: '期间没有办结的事务', tone: undefined })
  })

  it('draws submissions and ends per day, and says it in words', () => {
    const days = [
      { day: '2026-11-30', submitted: 1, finished: 0 },
      { day: '2026-12-01', submitted: 4, finished: 2 },
      { day: '2026-12-02', submitted: 2, finished: 3 },
    ]
    const o = dayLineOption(days) as { xAxis: { data: string[] }; series: { name: string; data: number[] }[] }
    expect(o.xAxis.data).toEqual(['11-30', '12-01', '12-02'])
    expect(o.series.map((s) => [s.name, s.data])).toEqual([
      ['提交', [1, 4, 2]],
      ['结束', [0, 2, 3]],
    ])
    expect(daySummary(days)).toBe('2026-11-30 至 2026-12-02 共 3 天，提交 7 件，结束 5 件。提交最多的一天是 2026-12-01（4 件）。')
    expect(daySummary([])).toBe('期间没有数据')
  })

  it('draws the biggest rows as bars, biggest on top, with a summary of the same rows', () => {
    const o = barOption([jwc, xgc, hq], ['submitted', 'overdue_now'], 2) as { yAxis: { data: string[] }; series: { name: string; data: number[] }[] }
    // ECharts draws category axes bottom-up: the biggest comes last.
    expect(o.yAxis.data).toEqual(['后勤保卫处', '学生工作处'])
    expect(o.series.map((s) => [s.name, s.data])).toEqual([
      ['提交', [7, 12]],
      ['当前超期', [0, 2]],
    ])
    expect(barSummary([jwc, xgc, hq], ['submitted', 'on_time_rate'], 2)).toBe('共 3 项。学生工作处：提交 12，按时办结率 80%；后勤保卫处：提交 7，按时办结率 —')
  })

  it('sorts by any column, rows without a value last either way', () => {
    expect(sortRows([jwc, xgc, hq], 'on_time_rate', 'desc').map((r) => r.name)).toEqual(['教务处', '学生工作处', '后勤保卫处'])
    expect(sortRows([jwc, xgc, hq], 'on_time_rate', 'asc').map((r) => r.name)).toEqual(['学生工作处', '教务处', '后勤保卫处'])
    expect(sortRows([jwc, xgc, hq], 'submitted', 'asc').map((r) => r.name)).toEqual(['教务处', '后勤保卫处', '学生工作处'])
  })

  it('defaults to the last 30 days and knows the quarter, in China time', () => {
    // 2026-12-02 01:00 in Beijing is still 2026-12-01 in UTC.
    const now = Date.parse('2026-12-01T17:00:00Z')
    expect(lastDays(30, now)).toEqual(['2026-11-03', '2026-12-02'])
    expect(quarterOf(Date.parse('2026-09-30T17:00:00Z'))).toEqual({ year: 2026, quarter: 4 })
  })
})

describe('the figures table', () => {
  it('lists the rows with formatted figures and sorts when a header is chosen', async () => {
    const w = mount(StatsTable, { props: { rows: [jwc, xgc, hq], caption: '各部门', nameLabel: '部门', testid: 't' }, attachTo: document.body })
    await flushPromises()
    const names = () => w.findAll('.el-table__body tr').map((tr) => tr.find('[data-row]').attributes('data-row'))
    expect(names()).toEqual(['学生工作处', '后勤保卫处', '教务处'])
    expect(w.find('.el-table__body tr').text()).toContain('80%')
    const header = w.findAll('.el-table__header th').find((th) => th.text().includes('按时办结率'))!
    await header.trigger('click')
    await flushPromises()
    // The first click sorts ascending: the lowest rate first, the row without one last.
    expect(names()).toEqual(['学生工作处', '教务处', '后勤保卫处'])
    w.unmount()
  })
})
