// (r) The department administrator, the IT office and the supervisors: 学生工作处 edits the 在读证明
// guide and publishes a new version, which the public guide page shows; the discipline office's
// inspector reads the dashboard (a chart, the departments' table), downloads the XLSX export,
// records a complaint about an affair applied for here and handles it; the IT office marks a day
// of 2027 as a holiday in the calendar and saves the year; 分管学生工作的副院长 sees only the
// departments he supervises, on the PC and on a phone.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'

import { ARTIFACTS, BASE, api, choose, guideByCode, launchBrowser, login, session, shot, steps } from '../lib/harness.mjs'

let browser
before(async () => {
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
})

const confirmBox = (page) => page.locator('.el-message-box').getByRole('button', { name: '确定' }).click()
const toast = (page, text) => page.locator('.el-message', { hasText: text }).first().waitFor()
const inWeek = () => new Date(Date.now() + 8 * 3600_000 + 7 * 86_400_000).toISOString().slice(0, 10)

test('guides, supervision, the holiday calendar and a supervising leader’s reach', async (t) => {
  const step = steps(t)
  const guide = await guideByCode('enrolment_certificate')
  const stamp = Date.now().toString(36)
  const question = `毕业前最后一学期还能开在读证明吗？（${stamp}）`
  const conditions = `具有我院正式学籍、学籍状态为“在读”的全日制学生（含最后一学期，${stamp}）。`
  let number

  await step('学生工作处 edits the 在读证明 guide, saves a draft and publishes it as a new version', async () => {
    const admin = await session(browser)
    const { page } = admin
    await login(page, 'xgc_admin', '/admin/guides')
    await page.getByTestId('guide-enrolment_certificate').click()
    await page.waitForURL(/\/admin\/guides\/[0-9a-f-]+$/)
    await page.getByTestId('guide-version-line').waitFor()
    const before = await api('xgc_admin', 'GET', `/guides/${guide.id}/versions`)
    await page.locator('#g-conditions').fill(conditions)
    await page.getByTestId('add-faq').click()
    const n = await page.locator('[data-testid="guide-faq"] > ol > li').count()
    await page.locator(`#g-faq-${n - 1}-question`).fill(question)
    await page.locator(`#g-faq-${n - 1}-answer`).fill('可以。最后一学期仍为在读学生，按本指南申请即可。')
    await shot(page, 'r01-guide-editor')
    await page.getByTestId('guide-save').click()
    await toast(page, '草稿已保存')
    await page.getByTestId('guide-version-line').filter({ hasText: `正在编辑第 ${before.length + 1} 版草稿` }).waitFor()
    // The hall still shows the published version until the draft is published.
    const published = await (await fetch(`${BASE}/api/v1/guides/${guide.id}`)).json()
    assert.notEqual(published.content.conditions, conditions)

    await page.getByTestId('guide-publish').click()
    await confirmBox(page)
    await toast(page, `大厅现显示第 ${before.length + 1} 版`)
    await page.getByTestId('guide-status').filter({ hasText: '已发布' }).waitFor()
    await page.getByRole('tab', { name: '版本历史' }).click()
    await page.locator('[data-testid="line-diff"] [data-part="conditions"]').waitFor()
    await shot(page, 'r02-guide-versions')
    admin.assertClean()
    await admin.close()
  })

  await step('the public guide page shows the new version', async () => {
    const visitor = await session(browser)
    const { page } = visitor
    await page.goto(`${BASE}/guides/${guide.id}`)
    await page.getByTestId('guide-detail').getByText(conditions).waitFor()
    await page.getByText(question).waitFor()
    await shot(page, 'r03-public-guide')
    visitor.assertClean()
    await visitor.close()
  })

  await step('affairs are applied for in 学生工作处 and in 后勤保卫处', async () => {
    const affair = await api('student1', 'POST', '/affairs', { guide_id: guide.id, form: { purpose: 'internship', copies: 1, language: 'zh' } })
    number = affair.number
    const room = await guideByCode('meeting_room_booking')
    await api('teacher1', 'POST', '/affairs', {
      guide_id: room.id,
      form: { topic: '教研室例会', room: 'xz201', date: inWeek(), time_slot: 'morning', attendees: 12, contact_phone: '13800138000' },
    })
  })

  await step('the inspector reads the dashboard and downloads the XLSX export', async () => {
    const inspector = await session(browser)
    const { page } = inspector
    await login(page, 'inspector', '/dashboard')
    // The charts are drawn (SVG with their series) and named for screen readers.
    await page.locator('[data-testid="chart-days"] svg').waitFor()
    await page.locator('[data-testid="chart-departments"] svg').waitFor()
    assert.ok((await page.locator('[data-testid="chart-days"] svg path').count()) > 5, 'the line chart has paths')
    const table = page.getByTestId('table-departments')
    await table.locator('[data-row="学生工作处"]').waitFor()
    await table.locator('[data-row="后勤保卫处"]').waitFor()
    assert.match((await page.getByTestId('chart-days').getAttribute('aria-label')) ?? '', /提交 \d+ 件/)
    await shot(page, 'r04-dashboard')

    const download = page.waitForEvent('download')
    await page.getByTestId('stats-export').click()
    const file = join(ARTIFACTS, 'stats.xlsx')
    await (await download).saveAs(file)
    const bytes = readFileSync(file)
    assert.equal(bytes.subarray(0, 2).toString('latin1'), 'PK', 'the export is a zip')
    assert.ok(bytes.includes(Buffer.from('xl/workbook.xml')), 'the zip holds xl/workbook.xml')
    inspector.assertClean()
    await inspector.close()
  })

  await step('the inspector records a complaint about the affair and handles it', async () => {
    const inspector = await session(browser)
    const { page } = inspector
    await login(page, 'inspector', '/dashboard/violations')
    await page.getByTestId('record-complaint').click()
    await page.locator('#complaint-number').fill(number)
    await page.locator('#complaint-detail').fill('学生来电反映：在读证明申请两天无人审核。')
    await page.getByTestId('complaint-submit').click()
    await toast(page, `已登记对 ${number} 的投诉`)
    const item = page.locator(`[data-violation="${number}"]`).first()
    await item.filter({ hasText: '待处理' }).waitFor()
    await shot(page, 'r05-violation-recorded')
    await page.getByTestId(`handle-${number}`).first().click()
    await page.locator('#handle-note').fill('已责令学生工作处当日办结，并约谈经办人。')
    await page.getByTestId('handle-submit').click()
    await toast(page, '已记录处理情况')
    await page.locator(`[data-violation="${number}"][data-status="handled"]`).getByText('已责令学生工作处当日办结').waitFor()
    await shot(page, 'r06-violation-handled')
    const v = await api('inspector', 'GET', '/stats/violations?kind=complaint&status=handled')
    assert.ok(v.items.some((x) => x.affair_number === number && x.handled_by), 'the handling is recorded')
    inspector.assertClean()
    await inspector.close()
  })

  await step('the IT office marks a day of 2027 as a holiday and saves the year', async () => {
    const before = await (await fetch(`${BASE}/api/v1/holidays/day?date=2027-03-08`)).json()
    assert.equal(before.working_day, true, '2027-03-08 (a Monday) starts as a working day')
    const it = await session(browser)
    const { page } = it
    await login(page, 'it_admin', '/admin/holidays?year=2027')
    await page.getByTestId('holiday-calendar').waitFor()
    await page.locator('[data-date="2027-03-08"]').click()
    await page.getByTestId('day-dialog').waitFor()
    await page.locator('[data-kind="off"]').click()
    await choose(page, 'day-holiday', '新建节假日')
    await page.locator('#day-new-name').fill('校庆日')
    await page.getByTestId('day-apply').click()
    await page.locator('[data-date="2027-03-08"][data-state="off"]').waitFor()
    await shot(page, 'r07-holiday-calendar')
    await page.getByTestId('holiday-save').click()
    await toast(page, '2027 年节假日安排已保存')
    const day = await (await fetch(`${BASE}/api/v1/holidays/day?date=2027-03-08`)).json()
    assert.deepEqual([day.working_day, day.holiday], [false, '校庆日'])
    it.assertClean()
    await it.close()
  })

  await step('the supervising leader sees only the departments he supervises', async () => {
    for (const mobile of [false, true]) {
      const leader = await session(browser, { mobile })
      const { page } = leader
      await login(page, 'vp_student', '/dashboard')
      const table = page.getByTestId('table-departments')
      await table.locator('[data-row="学生工作处"]').waitFor()
      assert.equal(await table.locator('[data-row="后勤保卫处"]').count(), 0, '后勤保卫处 is not his')
      if (!mobile) {
        // The department filter offers his departments only.
        await page.locator('.el-select[data-testid="dash-department"]').click()
        const options = page.locator('.el-tree[data-testid="dash-department"] .el-tree-node__content')
        await options.first().waitFor()
        const labels = (await options.allTextContents()).map((x) => x.trim())
        assert.ok(labels.includes('学生工作处'), `offers 学生工作处: ${labels}`)
        assert.ok(!labels.includes('后勤保卫处') && !labels.includes('教务处'), `offers only supervised ones: ${labels}`)
        await page.keyboard.press('Escape')
      }
      await shot(page, mobile ? 'r09-leader-dashboard-phone' : 'r08-leader-dashboard')
      leader.assertClean()
      await leader.close()
    }
  })
})
