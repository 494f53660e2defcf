// (b) A handler returns an affair to the applicant, who corrects the form and resubmits; the
// handler has it on the to-do list again, with the correction.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { BASE, api, guideByCode, launchBrowser, login, session, shot, steps } from '../lib/harness.mjs'

let browser
before(async () => {
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
})

test('return to the applicant, correct, resubmit', async (t) => {
  const step = steps(t)
  const guide = await guideByCode('enrolment_certificate')
  const affair = await api('student1', 'POST', '/affairs', {
    guide_id: guide.id,
    form: { purpose: 'internship', copies: 1, language: 'zh' },
  })

  await step('the 辅导员 returns it with an opinion', async () => {
    const s = await session(browser)
    const { page } = s
    await login(page, 'counsellor1', '/tasks')
    await page.getByTestId(`task-row-${affair.number}`).click()
    await page.getByTestId('action-return').click()
    await page.getByTestId('return-applicant').waitFor()
    await page.getByTestId('return-comment').fill('请改为英文证明，并注明份数。')
    await shot(page, '20-return-dialog')
    await page.getByTestId('action-confirm').click()
    await page.waitForURL((u) => u.pathname === '/tasks')
    s.assertClean()
    await s.close()
  })

  await step('the applicant corrects the form and resubmits', async () => {
    const s = await session(browser)
    const { page } = s
    await login(page, 'student1', `/affairs/${affair.id}`)
    await page.getByTestId('returned-notice').filter({ hasText: '请改为英文证明' }).waitFor()
    await shot(page, '21-affair-returned')
    await page.getByTestId('start-resubmit').click()
    await page.locator('#affair-copies').fill('3')
    await page.locator('[data-field="language"]').getByText('英文', { exact: true }).click()
    await page.locator('#resubmit-comment').fill('已改为英文，3 份。')
    await shot(page, '22-resubmit-form')
    await page.getByTestId('resubmit').click()
    await page.locator('.el-message', { hasText: '已重新提交' }).waitFor()
    const now = await api('student1', 'GET', `/affairs/${affair.id}`)
    assert.ok(['submitted', 'in_progress'].includes(now.status), `back with the handlers, not ${now.status}`)
    assert.equal(now.form.copies, 3)
    assert.equal(now.form.language, 'en')
    s.assertClean()
    await s.close()
  })

  await step('the 辅导员 has it again, with the corrected form', async () => {
    const s = await session(browser)
    const { page } = s
    await login(page, 'counsellor1', '/tasks')
    await page.getByTestId(`task-row-${affair.number}`).click()
    await page.getByTestId('action-panel').waitFor()
    await page.getByTestId('affair-timeline').getByText('重新提交').first().waitFor()
    await shot(page, '23-task-again')
    // The handler sees the form with its labels, as corrected.
    assert.equal((await page.getByTestId('value-copies').textContent()).trim(), '3')
    assert.equal((await page.getByTestId('value-language').textContent()).trim(), '英文')
    s.assertClean()
    await s.close()
  })
  assert.ok(BASE)
})
