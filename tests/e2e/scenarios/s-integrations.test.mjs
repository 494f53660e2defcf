// (s) The IT office connects other systems: it creates an API client with a role for its system
// account, sees the secret once, and the test obtains a token with it (client credentials, a
// narrowed scope) and calls the API; it subscribes a webhook to a receiver the test runs on
// 127.0.0.1, pings it (the receiver checks the signature) and sees the delivery in the log, then
// a failed delivery redelivered. The client's secret is replaced (the old one refused) and the
// client disabled and enabled again. And the designer keeps a layout: a step moved and saved is where
// it was left after the page is loaded again.
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import { after, before, test } from 'node:test'

import { BASE, api, choose, launchBrowser, login, session, shot, steps } from '../lib/harness.mjs'

let browser
/** What the receiver got, and how it answers next. */
const received = []
let answer = 200
let receiver
before(async () => {
  browser = await launchBrowser()
  receiver = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      received.push({ path: req.url, headers: req.headers, body })
      res.writeHead(answer, { 'content-type': 'text/plain' })
      res.end(answer < 300 ? 'ok' : 'not now')
    })
  })
  await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok))
})
after(async () => {
  await browser?.close()
  await new Promise((ok) => receiver?.close(ok))
})

const toast = (page, text) => page.locator('.el-message', { hasText: text }).first().waitFor()

/** A shape's position on the diagram (bpmn-js draws each at a translation). */
const position = (page, id) =>
  page.locator(`.djs-shape[data-element-id="${id}"]`).evaluate((g) => {
    const m = g.transform.baseVal.consolidate()?.matrix
    return m ? { x: Math.round(m.e), y: Math.round(m.f) } : null
  })

test('API clients, webhooks and a layout kept by the designer', async (t) => {
  const step = steps(t)
  const stamp = Date.now().toString(36)
  const clientName = `e2e 教务系统 ${stamp}`
  const hookName = `e2e-receiver-${stamp}`
  const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`
  let clientId
  let clientSecret
  let hookSecret

  const it = await session(browser)
  const { page } = it
  await step('the IT office creates an API client with a role for its account and sees the secret once', async () => {
    await login(page, 'it_admin', '/admin/integrations/clients')
    await page.getByTestId('client-create').click()
    await page.locator('#nc-name').fill(clientName)
    await page.locator('#nc-desc').fill('端到端测试：同步学生名单')
    await page.getByTestId('client-form').getByTestId('add-role').click()
    await choose(page, 'ra-role-0', '经办人')
    await page.locator('[data-row="0"] [data-scope="all"]').click()
    await shot(page, 's01-client-create')
    await page.getByTestId('client-create-confirm').click()
    const dialog = page.getByTestId('secret-dialog')
    await dialog.getByText('只显示这一次').waitFor()
    clientId = await page.getByTestId('secret-client-id').inputValue()
    clientSecret = await page.getByTestId('secret-client-secret').inputValue()
    assert.match(clientId, /^tb_[0-9a-f]+$/)
    assert.ok(clientSecret.length >= 32, 'a long secret')
    await shot(page, 's02-client-secret-once')
    await page.getByTestId('secret-done').click()
    await page.waitForURL(/\/admin\/integrations\/clients\/[0-9a-f-]+$/)
    await page.getByTestId('client-id').filter({ hasText: clientId }).waitFor()
    await page.getByTestId('client-scopes').getByText('org.read').waitFor()
    // Never shown again: not on the page, not in the API's list.
    assert.equal((await page.content()).includes(clientSecret), false)
    const listed = await api('it_admin', 'GET', '/api-clients')
    assert.equal(JSON.stringify(listed).includes(clientSecret), false)
    assert.deepEqual(listed.find((c) => c.client_id === clientId)?.permissions.includes('org.read'), true)
  })

  await step('a token obtained with the secret (client credentials, scope org.read) calls the API', async () => {
    const tokenOf = (scope) =>
      fetch(`${BASE}/api/v1/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
      })
    const r = await tokenOf('org.read')
    assert.equal(r.status, 200)
    const tok = await r.json()
    assert.equal(tok.token_type, 'Bearer')
    assert.equal(tok.scope, 'org.read')
    const users = await fetch(`${BASE}/api/v1/users?q=student1`, { headers: { authorization: `Bearer ${tok.access_token}` } })
    assert.equal(users.status, 200)
    assert.ok((await users.json()).items.some((u) => u.username === 'student1'))
    // A scope the client's roles do not give is refused.
    assert.equal((await tokenOf('settings.manage')).status, 400)
    const wrong = await fetch(`${BASE}/api/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: 'not-the-secret' }),
    })
    assert.equal(wrong.status, 401)

    await page.reload()
    await page.getByTestId('client-last-used').filter({ hasNotText: '从未' }).waitFor()
    await page.locator('[data-testid="client-scopes"] [data-scope="org.read"]').click()
    assert.match(await page.locator('#c-example').inputValue(), /scope=org\.read/)
    await shot(page, 's03-client-detail')

    // A new secret: the old one stops working, the new one works; disabled, none does.
    await page.getByTestId('client-rotate').click()
    await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click()
    await page.getByTestId('secret-dialog').getByText('旧密钥及其令牌已失效').waitFor()
    const fresh = await page.getByTestId('secret-client-secret').inputValue()
    assert.notEqual(fresh, clientSecret)
    await page.getByTestId('secret-done').click()
    assert.equal((await tokenOf('org.read')).status, 401, 'the old secret is refused')
    clientSecret = fresh
    assert.equal((await tokenOf('org.read')).status, 200)
    await page.getByTestId('client-toggle').click()
    await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click()
    await page.getByTestId('client-status').filter({ hasText: '已停用' }).waitFor()
    assert.equal((await tokenOf('org.read')).ok, false, 'a disabled client gets no token')
    await page.getByTestId('client-toggle').click()
    await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click()
    await page.getByTestId('client-status').filter({ hasText: '启用' }).waitFor()
    assert.equal((await tokenOf('org.read')).status, 200)
  })

  await step('a webhook to the test’s receiver: its secret shown once, a ping signed and logged as delivered', async () => {
    await page.goto(`${BASE}/admin/integrations/clients`)
    await page.getByTestId('nav-webhooks').click()
    await page.waitForURL(/\/admin\/integrations\/webhooks$/)
    await page.getByTestId('hook-create').click()
    await page.locator('#nh-name').fill(hookName)
    await page.locator('#nh-url').fill(hookUrl)
    await page.locator('[data-testid="hook-form"] [data-event="certificate.issued"]').click()
    await shot(page, 's04-webhook-create')
    await page.getByTestId('hook-create-confirm').click()
    await page.getByTestId('secret-dialog').getByText('只显示这一次').waitFor()
    hookSecret = await page.getByTestId('secret-hook-secret').inputValue()
    assert.ok(hookSecret.length >= 16)
    await page.getByTestId('secret-done').click()
    await page.waitForURL(/\/admin\/integrations\/webhooks\/[0-9a-f-]+$/)
    await page.getByTestId('hook-detail').waitFor()
    const hook = (await api('it_admin', 'GET', '/webhooks')).find((h) => h.name === hookName)
    assert.deepEqual(hook.events.sort(), ['affair.completed', 'certificate.issued'])

    await page.getByTestId('hook-ping').click()
    await toast(page, '已排队发送 ping')
    const row = page.locator('[data-testid="delivery-list"] > li[data-event="ping"][data-status="delivered"]')
    await row.first().waitFor({ timeout: 30_000 })
    await row.first().getByTestId('delivery-code').filter({ hasText: '200' }).waitFor()
    const got = received.find((r) => r.headers['x-tongban-event'] === 'ping')
    assert.ok(got, 'the receiver got the ping')
    const expected = `sha256=${createHmac('sha256', hookSecret).update(`${got.headers['x-tongban-timestamp']}.${got.body}`).digest('hex')}`
    assert.equal(got.headers['x-tongban-signature'], expected, 'signed with the secret shown')
    assert.equal(JSON.parse(got.body).event, 'ping')
    await shot(page, 's05-webhook-delivered')
  })

  await step('a delivery the receiver refuses shows its response code and is redelivered', async () => {
    answer = 500
    const before = received.length
    await page.getByTestId('hook-ping').click()
    const failing = page.locator('[data-testid="delivery-list"] > li[data-event="ping"][data-status="pending"]').first()
    await failing.getByTestId('delivery-code').filter({ hasText: '500' }).waitFor({ timeout: 30_000 })
    assert.ok(received.length > before)
    await failing.getByText('已尝试 1 次').waitFor()
    answer = 200
    await failing.getByRole('button', { name: '重新投递' }).click()
    await toast(page, '已重新排队投递')
    await page.locator('[data-testid="delivery-list"] > li[data-event="ping"][data-status="delivered"]').nth(1).waitFor({ timeout: 30_000 })
    await shot(page, 's06-webhook-redelivered')
  })

  await step('the designer keeps a step where it was moved after saving and loading again', async () => {
    const processes = await api('it_admin', 'GET', '/processes')
    const summary = processes.find((p) => p.key === 'meeting_room_booking')
    assert.ok(summary, 'the demo has 会议室预约')
    const detail = await api('it_admin', 'GET', `/processes/${summary.id}`)
    const task = detail.draft.nodes.find((n) => n.kind.type === 'user_task')
    assert.ok(task)
    await page.goto(`${BASE}/admin/processes/${summary.id}/design`)
    const shape = page.locator(`.djs-shape[data-element-id="${task.id}"]`)
    await shape.waitFor()
    const layout = page.getByTestId('designer-layout')
    assert.notEqual(await layout.getAttribute('data-source'), 'draft')
    const was = await position(page, task.id)
    const box = await shape.boundingBox()
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width / 2 + 20, box.y + box.height / 2 + 60, { steps: 8 })
    await page.mouse.move(box.x + box.width / 2 + 40, box.y + box.height / 2 + 120, { steps: 8 })
    await page.mouse.up()
    await page.getByTestId('designer-dirty').waitFor()
    const moved = await position(page, task.id)
    assert.notDeepEqual(moved, was, 'the step moved')
    await page.getByTestId('designer-save').click()
    await toast(page, '已保存')
    await layout.and(page.locator('[data-source="draft"]')).waitFor()
    const saved = await api('it_admin', 'GET', `/processes/${summary.id}`)
    assert.ok(saved.draft_diagram?.includes(`bpmnElement="${task.id}"`), 'the diagram is kept with the draft')

    await page.reload()
    await shape.waitFor()
    await layout.and(page.locator('[data-source="draft"]')).waitFor()
    assert.deepEqual(await position(page, task.id), moved, 'where it was left')
    await shot(page, 's07-designer-layout-kept')
  })

  it.assertClean()
  await it.close()
})
