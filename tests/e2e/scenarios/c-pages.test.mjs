// (c) The other main pages, as each kind of user meets them: a visitor on a phone (hall, search
// results, the public progress look-up), a student in English, drafts, notifications, and a
// handler whose task was handled meanwhile (409). Screenshots of each.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { BASE, api, choose, guideByCode, launchBrowser, login, session, shot, steps } from '../lib/harness.mjs'

let browser
before(async () => {
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
})

test('pages of the hall, the applicant and the handler', async (t) => {
  const step = steps(t)
  const enrolment = await guideByCode('enrolment_certificate')
  const leave = await guideByCode('student_leave')
  const affair = await api('student1', 'POST', '/affairs', {
    guide_id: enrolment.id,
    form: { purpose: 'documents', copies: 1, language: 'zh' },
  })

  await step('a visitor on a phone searches the hall and looks up progress without signing in', async () => {
    const s = await session(browser, { mobile: true })
    const { page } = s
    await page.goto(`${BASE}/`)
    await page.getByTestId('hall-categories').waitFor()
    await shot(page, '30-phone-hall-visitor')
    await page.getByTestId('hall-search').fill('qingjia')
    await page.getByTestId('hall-search').press('Enter')
    await page.waitForURL(/\/guides\?q=qingjia/)
    await page.getByTestId('guide-results').getByText('学生请假').first().waitFor()
    await shot(page, '31-phone-search-results')

    await page.goto(`${BASE}/progress`)
    await page.locator('#p-number').fill(affair.number)
    await page.locator('#p-suffix').fill('9999')
    s.expectConsoleError(/404/)
    await page.getByRole('button', { name: '查询' }).click()
    await page.getByRole('alert').filter({ hasText: '没有找到匹配的事务' }).waitFor()
    // student1's 学号 is 2024010101.
    await page.locator('#p-suffix').fill('0101')
    await page.getByRole('button', { name: '查询' }).click()
    await page.getByTestId('progress-result').getByText('辅导员审核').waitFor()
    await shot(page, '32-phone-progress')
    s.assertClean()
    await s.close()
  })

  await step('a student works in English, saves a draft of a leave request and continues it', async () => {
    const s = await session(browser)
    const { page } = s
    await login(page, 'student1')
    await page.getByTestId('language-switch').click()
    await page.getByRole('heading', { name: 'Themes' }).waitFor()
    assert.equal(await page.locator('html').getAttribute('lang'), 'en')
    await shot(page, '33-hall-english')
    await page.getByTestId('language-switch').click()
    await page.getByRole('heading', { name: '办事主题' }).waitFor()

    await page.goto(`${BASE}/apply/${leave.id}`)
    await choose(page, 'f-leave_type', '病假')
    // 病假 asks for a certificate; the opinion of the counsellor is not the applicant's to fill.
    await page.locator('[data-field="attachment"]').waitFor()
    assert.equal(await page.locator('[data-field="counsellor_opinion"]').count(), 0)
    await page.locator('#f-reason').fill('发烧就医')
    await page.getByTestId('save-draft').click()
    await page.locator('.el-message', { hasText: '草稿已保存' }).waitFor()
    await shot(page, '34-leave-draft')
    await page.goto(`${BASE}/drafts`)
    await page.getByTestId('draft-list').getByText('继续填写').first().click()
    await page.waitForURL(/draft=/)
    assert.equal(await page.locator('#f-reason').inputValue(), '发烧就医')
    await page.getByTestId('submit-affair').click()
    await page.getByTestId('error-period').waitFor()
    await shot(page, '35-leave-errors')

    await page.goto(`${BASE}/affairs`)
    await page.getByTestId('affair-list').getByText(affair.number).waitFor()
    await shot(page, '36-my-affairs')
    await page.goto(`${BASE}/notifications`)
    await page.getByTestId('notification-list').locator('li').first().waitFor()
    await shot(page, '37-notifications')
    s.assertClean()
    await s.close()
  })

  await step('a student on a phone: guide, apply form, my affairs and 我的', async () => {
    const s = await session(browser, { mobile: true })
    const { page } = s
    await login(page, 'student1')
    await page.goto(`${BASE}/guides/${enrolment.id}`)
    await page.getByTestId('flow-diagram').waitFor()
    await shot(page, '41-phone-guide')
    await page.getByTestId('apply-button').click()
    await page.locator('[data-field="purpose"]').waitFor()
    await shot(page, '42-phone-apply')
    await page.getByTestId('tab-my-affairs').click()
    await page.getByTestId('affair-list').getByText(affair.number).waitFor()
    await shot(page, '43-phone-my-affairs')
    await page.getByTestId('tab-me').click()
    await page.getByTestId('logout').waitFor()
    await shot(page, '44-phone-me')
    s.assertClean()
    await s.close()
  })

  await step('a handler acting on a task someone handled meanwhile sees the current state', async () => {
    const s = await session(browser)
    const { page } = s
    await login(page, 'counsellor1', '/tasks')
    await page.getByTestId(`task-row-${affair.number}`).click()
    await page.getByTestId('action-panel').waitFor()
    const taskId = new URL(page.url()).pathname.split('/').pop()
    await shot(page, '38-task-pc')
    // Handled through the API (another device) while the page is open.
    await api('counsellor1', 'POST', `/tasks/${taskId}/actions`, { action: 'approve', comment: '同意' })
    s.expectConsoleError(/409/)
    await page.getByTestId('action-approve').click()
    await page.locator('.el-message', { hasText: '该待办已被处理' }).waitFor()
    await page.getByTestId('task-readonly').waitFor()
    assert.equal(await page.getByTestId('action-panel').count(), 0)

    await page.goto(`${BASE}/tasks?status=done`)
    await page.getByTestId(`task-row-${affair.number}`).waitFor()
    await shot(page, '39-tasks-done')
    await page.goto(`${BASE}/absences`)
    await page.getByRole('heading', { name: '新增外出委托' }).waitFor()
    await shot(page, '40-absences')
    s.assertClean()
    await s.close()
  })
})
