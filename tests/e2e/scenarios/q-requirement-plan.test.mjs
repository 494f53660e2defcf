// (q) 学生工作处 requests a new online process with the 网上办事流程建设需求计划审批表: its admin
// applies from the requirement plans (two related departments chosen in a department field of
// several), the chain signs with opinions (through the API), and the request page shows the
// opinions in the form's order — one box per related department, 院长 and 书记 not required —
// and gives the PDF; the IT office proposes the construction scheme, the department confirms it,
// and the 第九条 checklist ticks both duties.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'

import { ARTIFACTS, BASE, api, isPdf, launchBrowser, login, samplePdf, session, shot, steps } from '../lib/harness.mjs'

let browser
before(async () => {
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
})

/** Approve the pending task of `username` on an affair, with an opinion (every step needs one). */
async function sign(username, affairId, comment) {
  const list = await api(username, 'GET', '/tasks?status=todo&page_size=100')
  const task = list.items.find((x) => x.affair_id === affairId)
  assert.ok(task, `${username} has the request to sign`)
  await api(username, 'POST', `/tasks/${task.id}/actions`, { action: 'approve', comment })
}

/** Pick a department in a department tree of the form (Element Plus tree select). */
async function department(page, inputId, name) {
  await page.locator('.el-select', { has: page.locator(`#${inputId}`) }).click()
  await page.locator('.el-tree-node__content:visible', { hasText: name }).first().click()
}

test('a requirement plan from the request to the confirmed scheme', async (t) => {
  const step = steps(t)
  const processName = `学生证补办（${Date.now() % 100000}）`
  let affairId
  let planId

  const dept = await session(browser)
  await step('学生工作处 applies from the requirement plans with the approval form', async () => {
    const { page } = dept
    await login(page, 'xgc_admin', '/requirement-plans')
    await page.getByTestId('plan-apply').click()
    await page.waitForURL(/\/apply\/process\/process_requirement_plan/)
    await page.getByTestId('apply-form').waitFor()
    await department(page, 'f-applying_department', '学生工作处')
    await page.locator('#f-process_name').fill(processName)
    await page.locator('#f-summary').fill('学生在线申请补办学生证，学生工作处审核后制证。')
    await page.locator('#f-reasons').fill('减少学生往返办理，办理进度可查。')
    await page.locator('#f-applied_on').fill(new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10))
    await page.locator('#f-applied_on').press('Enter')
    await page.locator('#f-contact_name').fill('王老师')
    await page.locator('#f-contact_phone').fill('0731-88880000')
    await page.getByTestId('file-input-process_description').setInputFiles(samplePdf(join(ARTIFACTS, 'process-description.pdf')))
    await page.getByTestId('uploaded-file').filter({ hasText: 'process-description.pdf' }).waitFor()
    await page.getByTestId('file-input-flowchart').setInputFiles(samplePdf(join(ARTIFACTS, 'flowchart.pdf')))
    await page.getByTestId('uploaded-file').filter({ hasText: 'flowchart.pdf' }).waitFor()
    await page.locator('[data-field="has_leader_steps"]').getByText('否', { exact: true }).click()
    await department(page, 'f-related_departments', '教务处')
    await page.locator('.el-tree-node__content:visible', { hasText: '财务处' }).first().click()
    await page.keyboard.press('Escape')
    await shot(page, 'q01-plan-apply')
    await page.getByTestId('submit-affair').click()
    await page.waitForURL(/\/affairs\/[0-9a-f-]+$/)
    affairId = new URL(page.url()).pathname.split('/').pop()
    const affair = await api('xgc_admin', 'GET', `/affairs/${affairId}`)
    assert.equal(affair.process_key, 'process_requirement_plan')
    assert.equal(affair.form.related_departments.length, 2, 'two related departments chosen')
  })

  await step('the chain signs: department, its leader, the related departments, the IT office, its leader', async () => {
    await sign('xgc_head', affairId, '同意申报，请信息化管理办公室建设。')
    await sign('vp_student', affairId, '同意。')
    await sign('jwc_head', affairId, '教务处同意，学籍数据可共享。')
    await sign('cwc_head', affairId, '财务处无意见。')
    await sign('it_admin', affairId, '技术可行，纳入本学期建设计划。')
    await sign('vp_it', affairId, '同意建设。')
    const affair = await api('xgc_admin', 'GET', `/affairs/${affairId}`)
    assert.equal(affair.status, 'completed', 'no president or secretary steps: approved after the IT leader')
    const plans = await api('it_admin', 'GET', '/requirement-plans?page_size=100')
    const plan = plans.items.find((p) => p.affair_id === affairId)
    assert.equal(plan.status, 'building')
    planId = plan.id
  })

  await step('the request page shows the opinions in the form’s order and gives the PDF', async () => {
    const { page } = dept
    await page.goto(`${BASE}/requirement-plans`)
    await page.getByTestId('plan-list').getByText(processName).waitFor()
    await page.getByTestId('plan-list').getByRole('link', { name: /^SW/ }).first().waitFor()
    await page.goto(`${BASE}/requirement-plans/${planId}`)
    await page.getByTestId('plan-sheet').waitFor()
    const boxes = page.locator('[data-testid^="opinion-"]:not([data-testid="opinion-not-required"])')
    assert.deepEqual(await boxes.evaluateAll((els) => els.map((e) => e.dataset.testid)), [
      'opinion-applying_dept',
      'opinion-applying_leader',
      'opinion-related_depts',
      'opinion-related_depts',
      'opinion-it_office',
      'opinion-it_leader',
      'opinion-president',
      'opinion-secretary',
    ])
    const text = await boxes.allInnerTexts()
    assert.match(text[0], /同意申报/)
    assert.match(text[2], /教务处[\s\S]*学籍数据可共享/)
    assert.match(text[3], /财务处[\s\S]*财务处无意见/)
    assert.match(text[4], /技术可行/)
    assert.match(text[5], /同意建设/)
    assert.equal(await page.getByTestId('opinion-not-required').count(), 2, '院长 and 书记: 无需签署')
    await shot(page, 'q02-plan-page')
    const download = page.waitForEvent('download')
    await page.getByTestId('plan-pdf').click()
    const file = join(ARTIFACTS, 'requirement-plan.pdf')
    await (await download).saveAs(file)
    assert.ok(isPdf(file), 'the approval form downloads as a PDF')
  })

  await step('the IT office proposes the construction scheme with a planned date', async () => {
    const it = await session(browser)
    const { page } = it
    await login(page, 'it_admin', `/requirement-plans/${planId}`)
    await page.getByTestId('plan-action-scheme').click()
    await page.locator('#plan-scheme').fill('在网上办事大厅新建“学生证补办”流程：学生申请 → 辅导员核实 → 学生工作处审核 → 制证通知。两周内完成建设并试运行。')
    await page.locator('#plan-planned').fill('2027-01-15')
    await page.locator('#plan-planned').press('Enter')
    await page.getByTestId('plan-action-confirm').click()
    await page.locator('[data-testid="check-implementation_plan"][data-done="true"]').waitFor()
    await page.getByTestId('plan-process-link').waitFor()
    await shot(page, 'q03-plan-scheme')
    it.assertClean()
    await it.close()
  })

  await step('the department confirms the scheme; both duties are ticked', async () => {
    const { page } = dept
    await page.reload()
    await page.getByTestId('plan-action-confirm_scheme').click()
    await page.getByTestId('plan-action-confirm').click()
    await page.locator('[data-testid="check-scheme_confirmed"][data-done="true"]').waitFor()
    await assert.rejects(page.getByTestId('plan-action-confirm_scheme').waitFor({ timeout: 1000 }), 'confirmed once')
    await shot(page, 'q04-plan-confirmed')
    const plan = await api('xgc_admin', 'GET', `/requirement-plans/${planId}`)
    assert.ok(plan.events.some((e) => e.kind === 'scheme_confirmed'))
    assert.equal(plan.planned_online_on, '2027-01-15')
    dept.assertClean()
    await dept.close()
  })
})
