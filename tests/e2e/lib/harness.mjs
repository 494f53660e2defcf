// Helpers shared by the scenarios: browser sessions that record console errors, sign-in,
// screenshots, and a small API client for setting things up.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { chromium } from 'playwright-core'

export const BASE = process.env.TONGBAN_E2E_URL ?? 'http://127.0.0.1:8080'
export const ARTIFACTS = process.env.TONGBAN_E2E_ARTIFACTS ?? join(import.meta.dirname ?? '.', '..', 'screenshots')
export const PASSWORD = 'Tongban@2026'

/** Debian's Chromium, headless, with the flags this closed network needs; a fresh profile each launch. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  userAgent:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50 NetType/WIFI Language/zh_CN',
}

/**
 * A browser context (one signed-in person) and a page, recording every console error and page
 * error; `assertClean()` fails the test on any of them.
 */
export async function session(browser, { mobile = false } = {}) {
  const context = await browser.newContext({
    ...(mobile ? PHONE : { viewport: { width: 1366, height: 900 } }),
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    acceptDownloads: true,
  })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  const errors = []
  const allowed = []
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    const text = `console: ${m.text()} (${m.location().url})`
    const i = allowed.findIndex((a) => a.test(text))
    // An allowed message is consumed: each one expected once.
    if (i >= 0) allowed.splice(i, 1)
    else errors.push(text)
  })
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`))
  return {
    context,
    page,
    errors,
    /**
     * Expect one console error matching `re` — the browser logs every refused request, also the
     * ones a test provokes on purpose (a 404 look-up, a 409 on a task handled meanwhile).
     */
    expectConsoleError(re) {
      allowed.push(re)
    },
    assertClean() {
      assert.deepEqual(errors, [], 'no console or page errors')
    },
    close: () => context.close(),
  }
}

/**
 * Steps of one scenario as subtests that stop at the first failure: `const step = steps(t)`,
 * then `await step('name', async () => …)`; later steps are skipped, not failed in cascade.
 */
export function steps(t) {
  let broken = null
  return (name, fn) =>
    t.test(name, { skip: broken ? `an earlier step failed: ${broken}` : false }, async () => {
      try {
        await fn()
      } catch (e) {
        broken = name
        throw e
      }
    })
}

/** Sign in through the sign-in page; resolves on the page signed in. */
export async function login(page, username, redirect = '/') {
  await page.goto(`${BASE}/login?redirect=${encodeURIComponent(redirect)}`)
  await page.locator('#login-username').fill(username)
  await page.locator('#login-password').fill(PASSWORD)
  await page.getByTestId('login-submit').click()
  await page.waitForURL((u) => !u.pathname.startsWith('/login'))
}

export async function shot(page, name) {
  // The live notification stream keeps the network busy, so "network idle" never comes: wait for
  // the loading states to end and the fonts to be ready instead.
  await page.locator('.state--loading').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined)
  await page.evaluate(() => document.fonts.ready)
  await page.waitForTimeout(300)
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

/** Pick an option of an Element Plus select by the select's id and the option's text. */
export async function choose(page, inputId, optionText) {
  await page.locator('.el-select', { has: page.locator(`#${inputId}`) }).click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: optionText }).first().click()
}

/** A tiny valid one-page PDF, as an uploaded material. */
export function samplePdf(path) {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>',
    '<< /Length 44 >>\nstream\nBT /F1 12 Tf 20 50 Td (e2e material) Tj ET\nendstream',
  ]
  let out = '%PDF-1.4\n'
  const offsets = []
  objects.forEach((o, i) => {
    offsets.push(out.length)
    out += `${i + 1} 0 obj\n${o}\nendobj\n`
  })
  const xref = out.length
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  writeFileSync(path, out, 'latin1')
  return path
}

/**
 * The text of the QR code on the first page of a PDF (pdftoppm from poppler-utils, zbarimg from
 * zbar-tools, both installed by .ci/run), or null when those tools are missing.
 */
export function qrOfPdf(pdfPath) {
  const dir = mkdtempSync(join(tmpdir(), 'tongban-qr-'))
  try {
    const r = spawnSync('pdftoppm', ['-png', '-r', '200', '-f', '1', '-l', '1', pdfPath, join(dir, 'page')])
    if (r.error) return null
    assert.equal(r.status, 0, `pdftoppm: ${r.stderr}`)
    const png = readdirSync(dir).find((f) => f.endsWith('.png'))
    assert.ok(png, 'pdftoppm made a PNG')
    const z = spawnSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', join(dir, png)], { encoding: 'utf8' })
    if (z.error) return null
    assert.equal(z.status, 0, `zbarimg found no QR code: ${z.stderr}`)
    return z.stdout.trim()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function isPdf(path) {
  return readFileSync(path).subarray(0, 5).toString('latin1') === '%PDF-'
}

// --- The API, for setting up and for checks that the UI does not show -------------------------

const tokens = new Map()
export async function token(username) {
  if (!tokens.has(username)) {
    const r = await fetch(`${BASE}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: PASSWORD }),
    })
    assert.equal(r.status, 200, `API sign-in of ${username}`)
    tokens.set(username, (await r.json()).access_token)
  }
  return tokens.get(username)
}

export async function api(username, method, path, body) {
  const r = await fetch(`${BASE}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${await token(username)}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await r.text()
  const data = text ? JSON.parse(text) : null
  if (!r.ok) throw new Error(`${method} ${path} as ${username}: ${r.status} ${data?.code}: ${data?.detail ?? data?.title}`)
  return data
}

/** A published guide by its stable code (the public guide list). */
export async function guideByCode(code) {
  const r = await fetch(`${BASE}/api/v1/guides?page_size=100`)
  const page = await r.json()
  const g = page.items.find((x) => x.code === code)
  assert.ok(g, `guide ${code} is published`)
  return g
}

/** Retry `fn` until it returns a truthy value (background jobs), or fail after `ms`. */
export async function eventually(fn, ms = 30_000, what = 'condition') {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn().catch(() => null)
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}
