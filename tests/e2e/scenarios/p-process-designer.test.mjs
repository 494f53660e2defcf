// (p) The IT office changes 学生请假 in the process designer — a longer time limit and an opinion
// required at the 辅导员, and a new step 学工处备案审核 (xgc_admin) on the "3 天及以内" branch dropped
// onto its flow from the palette — saves it, sees validation pass, and publishes it online. An
// affair started afterwards runs on the new version and reaches the new step; one started before
// keeps its old version and skips it; the migration dry run reports the old affair as movable.
// Runs after the scenarios that apply for 学生请假 as the demo ships it (it changes the process).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { api, launchBrowser, login, session, shot, steps } from '../lib/harness.mjs'

let browser
before(async () => {
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
})

const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
const leave = (reason) => ({
  leave_type: 'personal',
  period: { start: today, end: today },
  days: 1,
  reason,
  leave_campus: 'no',
  emergency_contact: '张三',
  emergency_phone: '13800138000',
})

async function pendingTasks(affairId, asUser) {
  const affair = await api(asUser, 'GET', `/affairs/${affairId}`)
  return affair.tasks.filter((x) => x.status === 'pending')
}

/** The pending task of `username` on an affair, as the affair shows it (with `opinion_required`). */
async function todo(username, affairId) {
  const list = await api(username, 'GET', '/tasks?status=todo&page_size=100')
  const row = list.items.find((x) => x.affair_id === affairId)
  assert.ok(row, `${username} has a task of the affair`)
  const affair = await api(username, 'GET', `/tasks/${row.id}`)
  const task = affair.tasks.find((x) => x.id === row.id)
  assert.ok(task)
  return task
}

test('学生请假 changed in the designer, published, and followed by new affairs only', async (t) => {
  const step = steps(t)
  const processes = await api('it_admin', 'GET', '/processes')
  const summary = processes.find((p) => p.key === 'student_leave')
  assert.ok(summary?.online_version, '学生请假 is online')
  const oldVersion = summary.online_version
  const before = await api('student1', 'POST', '/affairs', { process_key: 'student_leave', form: leave('家中有事（改版前）') })
  assert.equal(before.process_version, oldVersion)
  // Left at the 辅导员 on the old version, for the migration dry run.
  const waiting = await api('student1', 'POST', '/affairs', { process_key: 'student_leave', form: leave('回家（改版前，未审批）') })
  const xgcAdmin = (await api('it_admin', 'GET', '/users?q=xgc_admin')).items.find((u) => u.username === 'xgc_admin')
  assert.ok(xgcAdmin)
  let newVersion

  const it = await session(browser)
  const { page } = it
  await step('the IT office opens 学生请假 in the designer from the process list', async () => {
    await login(page, 'it_admin', '/admin/processes')
    await page.getByTestId('process-list').waitFor()
    await shot(page, 'p01-process-list')
    await page.getByTestId('design-student_leave').click()
    await page.waitForURL(/\/design$/)
    await page.locator('[data-element-id="counsellor"]').first().waitFor()
    await shot(page, 'p02-designer')
  })

  await step('the 辅导员 step gets two working days and a required opinion', async () => {
    await page.locator('[data-element-id="counsellor"]').first().click()
    await page.getByTestId('properties-panel').getByText('审批节点').first().waitFor()
    await page.locator('#prop-limit').fill('2')
    await page.locator('#prop-limit').press('Tab')
    await page.getByTestId('prop-opinion-required').click()
    await page.getByTestId('designer-dirty').waitFor()
  })

  await step('a new step 学工处备案审核 is dropped onto the "3 天及以内" flow and given its handler', async () => {
    // A point on the flow from the gateway to the CC step, in page coordinates.
    const point = await page.evaluate(() => {
      const path = document.querySelector('[data-element-id="f_up_to_3_days"] .djs-visual > path')
      const p = path.getPointAtLength(path.getTotalLength() * 0.3)
      const m = path.getScreenCTM()
      return { x: p.x * m.a + p.y * m.c + m.e, y: p.x * m.b + p.y * m.d + m.f }
    })
    await page.locator('.djs-palette [data-action="create.user-task"]').click()
    await page.mouse.move(point.x - 10, point.y)
    await page.mouse.move(point.x, point.y, { steps: 5 })
    await page.mouse.click(point.x, point.y)
    const panel = page.getByTestId('properties-panel')
    await panel.getByText('bpmn:UserTask').waitFor()
    await page.locator('#prop-id').fill('xgc_filing')
    await page.locator('#prop-id').press('Enter')
    await page.getByTestId('prop-name').fill('学工处备案审核')
    await page.getByTestId('prop-name').press('Enter')
    await page.locator('[data-element-id="xgc_filing"]').first().waitFor()
    await page.getByTestId('rule-add').click()
    await page.locator('.el-select', { has: page.locator('#assignees-rule-0-type') }).click()
    await page.locator('.el-select-dropdown__item:visible', { hasText: '指定人员' }).first().click()
    await page.locator('.el-select', { has: page.locator('#assignees-rule-0-users') }).click()
    await page.locator('#assignees-rule-0-users').fill('xgc_admin')
    await page.locator('.el-select-dropdown__item:visible', { hasText: '学工处管理员' }).first().click()
    await page.keyboard.press('Escape')
    await shot(page, 'p03-designer-new-step')
  })

  await step('saving passes validation', async () => {
    await page.getByTestId('designer-save').click()
    await page.locator('.el-message', { hasText: '已保存，校验通过' }).waitFor()
    await assert.rejects(page.getByTestId('designer-dirty').waitFor({ timeout: 1000 }), 'nothing left unsaved')
    await page.getByTestId('problems-tab').click()
    await page.getByTestId('validation-ok').waitFor()
    const detail = await api('it_admin', 'GET', `/processes/${summary.id}`)
    assert.equal(detail.validation.valid, true)
    const node = (id) => detail.draft.nodes.find((n) => n.id === id)
    assert.deepEqual(node('counsellor').time_limit, { amount: 2, unit: 'working_days' })
    assert.equal(node('counsellor').kind.opinion_required, true)
    assert.deepEqual(node('xgc_filing').kind.assignees, [{ type: 'users', users: [xgcAdmin.id] }])
    const into = detail.draft.flows.find((f) => f.to === 'xgc_filing')
    const out = detail.draft.flows.find((f) => f.from === 'xgc_filing')
    assert.equal(into.from, 'gw_over_3_days', 'the new step sits on the gateway branch')
    assert.equal(out.to, 'cc_xgc')
    await shot(page, 'p04-designer-saved-valid')
  })

  await step('it is published online as a new version; the old one goes offline', async () => {
    await page.getByTestId('designer-publish').click()
    const dialog = page.getByTestId('publish-dialog')
    await dialog.getByTestId('publish-online').click()
    await dialog.getByTestId('publish-confirm').click()
    await page.waitForURL(/\/admin\/processes\/[0-9a-f-]+$/)
    newVersion = oldVersion + 1
    await page.getByTestId(`version-${newVersion}-status`).filter({ hasText: '已上线' }).waitFor()
    await page.getByTestId(`version-${oldVersion}-status`).filter({ hasText: '已下线' }).waitFor()
    await shot(page, 'p05-process-versions')
  })

  await step('a new affair runs on the new version and reaches the new step; the old one keeps its version', async () => {
    const fresh = await api('student1', 'POST', '/affairs', { process_key: 'student_leave', form: leave('家中有事（改版后）') })
    assert.equal(fresh.process_version, newVersion)
    // The opinion is now required at the 辅导员.
    const task = await todo('counsellor1', fresh.id)
    assert.equal(task.opinion_required, true)
    await assert.rejects(api('counsellor1', 'POST', `/tasks/${task.id}/actions`, { action: 'approve' }), /4\d\d/)
    await api('counsellor1', 'POST', `/tasks/${task.id}/actions`, { action: 'approve', comment: '同意。' })
    const next = await pendingTasks(fresh.id, 'student1')
    assert.deepEqual(
      next.map((x) => [x.node_id, x.assignee_id]),
      [['xgc_filing', xgcAdmin.id]],
    )

    const old = await api('student1', 'GET', `/affairs/${before.id}`)
    assert.equal(old.process_version, oldVersion, 'the affair started before keeps its version')
    const oldTask = await todo('counsellor1', before.id)
    assert.equal(oldTask.opinion_required, false)
    await api('counsellor1', 'POST', `/tasks/${oldTask.id}/actions`, { action: 'approve', comment: '同意' })
    const done = await api('student1', 'GET', `/affairs/${before.id}`)
    assert.equal(done.status, 'completed', 'the old version has no 学工处备案审核: the CC step ends it')
    assert.ok(!done.tasks.some((x) => x.node_id === 'xgc_filing'))
  })

  await step('the migration dry run reports the running affair of the old version as movable', async () => {
    await page.reload()
    await page.getByTestId(`version-${oldVersion}-migrate`).click()
    const dialog = page.getByTestId('migrate-dialog')
    await dialog.getByTestId('migrate-dry-run').click()
    const report = dialog.getByTestId('migrate-report')
    await report.getByText(waiting.number).waitFor()
    await shot(page, 'p06-migration-dry-run')
    const r = await api('it_admin', 'POST', `/processes/${summary.id}/migrate`, { from_version: oldVersion, to_version: newVersion, dry_run: true })
    assert.ok(r.dry_run && r.moved === 0)
    assert.ok(r.movable.some((a) => a.number === waiting.number), 'waiting at the 辅导员, it could move')
    assert.equal((await api('student1', 'GET', `/affairs/${waiting.id}`)).process_version, oldVersion, 'a dry run moves nothing')
    await dialog.getByRole('button', { name: '关闭', exact: true }).click()
    it.assertClean()
    await it.close()
  })
})
