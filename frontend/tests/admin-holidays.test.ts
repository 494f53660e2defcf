// The holiday calendar: what each day is under a year's schedule (法定节假日 and 调休 make-up
// workdays), marking days in the calendar, and the checks the server makes before saving a year.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ref } from 'vue'

import { checkSchedule, dayInfo, fromView, isWorkingDay, setDays, toRequest, type Schedule } from '@/components/admin/holidays/calendar'
import HolidayCalendar from '@/components/admin/holidays/HolidayCalendar.vue'
import { loadAdminMessages } from '@/locales/admin'

beforeAll(() => loadAdminMessages())
afterEach(() => {
  document.body.innerHTML = ''
})

// Part of the State Council's 2026 schedule.
const year2026 = (): Schedule =>
  fromView({
    year: 2026,
    source: '国务院办公厅关于2026年部分节假日安排的通知',
    origin: 'builtin',
    holidays: [
      { name: '元旦', days_off: ['2026-01-03', '2026-01-01', '2026-01-02'], make_up_workdays: ['2026-01-04'] },
      { name: '国庆节', name_en: 'National Day', days_off: ['2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06', '2026-10-07'], make_up_workdays: ['2026-10-10'] },
    ],
  })

describe('days under a schedule', () => {
  it('tells workdays, weekends, days off and make-up workdays apart', () => {
    const s = year2026()
    expect(dayInfo(s, '2026-01-05')).toEqual({ state: 'workday', holiday: null })
    expect(dayInfo(s, '2026-01-10')).toEqual({ state: 'weekend', holiday: null })
    expect(dayInfo(s, '2026-01-02')).toEqual({ state: 'off', holiday: 0 })
    expect(dayInfo(s, '2026-01-04')).toEqual({ state: 'makeup', holiday: 0 })
    expect(isWorkingDay(s, '2026-01-04')).toBe(true) // a Sunday worked
    expect(isWorkingDay(s, '2026-10-05')).toBe(false) // a Monday off
    expect(s.holidays[0]!.days_off).toEqual(['2026-01-01', '2026-01-02', '2026-01-03'])
  })

  it('marks days off, make-up workdays (weekends only) and plain days, keeping each date in one list', () => {
    let s = year2026()
    // 2026-10-08 (Thursday) becomes a day off of 国庆节, then a plain workday again.
    s = setDays(s, ['2026-10-08'], { kind: 'off', holiday: 1 }).schedule
    expect(dayInfo(s, '2026-10-08')).toEqual({ state: 'off', holiday: 1 })
    s = setDays(s, ['2026-10-08'], { kind: 'normal' }).schedule
    expect(dayInfo(s, '2026-10-08').state).toBe('workday')
    // A day off moved to another holiday leaves the first one.
    s = setDays(s, ['2026-10-07'], { kind: 'off', holiday: 0 }).schedule
    expect(s.holidays[1]!.days_off).not.toContain('2026-10-07')
    expect(s.holidays[0]!.days_off).toContain('2026-10-07')
    // Make-up workdays must fall on weekends: 2026-09-26 (Saturday) is taken, 2026-09-28 (Monday) refused.
    const r = setDays(s, ['2026-09-26', '2026-09-28'], { kind: 'makeup', holiday: 1 })
    expect(r.refused).toEqual(['2026-09-28'])
    expect(r.schedule.holidays[1]!.make_up_workdays).toEqual(['2026-09-26', '2026-10-10'])
  })

  it('checks a year as the server does before it is saved', () => {
    const s = year2026()
    s.holidays.push({ name: '', name_en: null, days_off: [], make_up_workdays: ['2026-03-02'] })
    s.holidays[1]!.days_off.push('2026-01-01', '2028-01-01')
    expect(checkSchedule(s, 2026).map((p) => p.message)).toEqual([
      '2026-01-01 出现了不止一次',
      '2028-01-01 不在 2026 年或相邻年份',
      '第 3 个节假日没有名称',
      '“节假日 3”没有放假日期',
      '2026-03-02 不是周末，不能调休上班',
    ])
    expect(checkSchedule(year2026(), 2026)).toEqual([])
  })

  it('sends the version only for a year edited before', () => {
    expect(toRequest(year2026(), null)).not.toHaveProperty('version')
    expect(toRequest(year2026(), 4)).toMatchObject({ version: 4, source: '国务院办公厅关于2026年部分节假日安排的通知' })
  })
})

describe('the calendar', () => {
  async function calendar() {
    const model = ref(year2026())
    const w = mount(HolidayCalendar, {
      props: {
        modelValue: model.value,
        'onUpdate:modelValue': (v: Schedule) => {
          model.value = v
          void w.setProps({ modelValue: v })
        },
        year: 2026,
      },
      attachTo: document.body,
    })
    await flushPromises()
    return { w, model }
  }
  const dialog = () => document.querySelector('[data-testid="day-dialog"]')!
  const click = (sel: string) => (document.querySelector(sel) as HTMLElement).click()

  it('says what each day is, in words', async () => {
    const { w } = await calendar()
    expect(w.find('[data-date="2026-10-01"]').attributes('aria-label')).toBe('2026年10月1日 星期四，国庆节放假')
    expect(w.find('[data-date="2026-10-10"]').attributes('aria-label')).toBe('2026年10月10日 星期六，国庆节调休上班')
    expect(w.find('[data-date="2026-10-12"]').attributes('data-state')).toBe('workday')
    w.unmount()
  })

  it('marks a day off of a new holiday, with the days after it', async () => {
    const { w, model } = await calendar()
    await w.find('[data-date="2026-05-01"]').trigger('click')
    await flushPromises()
    expect(dialog().textContent).toContain('2026年5月1日 星期五')
    click('[data-kind="off"] input')
    await flushPromises()
    // The nearest holiday is offered; choose a new one instead.
    const vm = w.vm as unknown as { $: { setupState: { form: { holiday: number | 'new'; newName: string; count: number } } } }
    vm.$.setupState.form.holiday = 'new'
    vm.$.setupState.form.newName = '劳动节'
    vm.$.setupState.form.count = 5
    await flushPromises()
    click('[data-testid="day-apply"]')
    await flushPromises()
    expect(model.value.holidays.map((h) => h.name)).toEqual(['元旦', '国庆节', '劳动节'])
    expect(model.value.holidays[2]!.days_off).toEqual(['2026-05-01', '2026-05-02', '2026-05-03', '2026-05-04', '2026-05-05'])
    expect(w.find('[data-date="2026-05-04"]').attributes('data-state')).toBe('off')
    w.unmount()
  })

  it('offers make-up workdays only on weekends', async () => {
    const { w } = await calendar()
    await w.find('[data-date="2026-05-06"]').trigger('click') // a Wednesday
    await flushPromises()
    expect((document.querySelector('[data-kind="makeup"] input') as HTMLInputElement).disabled).toBe(true)
    w.unmount()
  })

  it('moves between days with the arrow keys, one focusable day at a time', async () => {
    const { w } = await calendar()
    const start = w.find('[tabindex="0"]')
    const date = start.attributes('data-date')!
    await start.trigger('keydown', { key: 'ArrowDown' })
    await flushPromises()
    const next = w.find('[tabindex="0"]').attributes('data-date')!
    expect((Date.parse(next) - Date.parse(date)) / 86_400_000).toBe(7)
    expect(w.findAll('[tabindex="0"]')).toHaveLength(1)
    w.unmount()
  })
})
