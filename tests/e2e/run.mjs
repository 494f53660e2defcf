// End-to-end runner: builds the server binary if needed, starts `tongban serve --demo` on a free
// port with a fresh data directory and the built web app, waits for /readyz, runs every scenario
// in scenarios/ (node's test runner, one at a time) in headless Chromium, and always stops the
// server. Screenshots and the server log go to screenshots/ (git-ignored).
//
//   node run.mjs [scenarios/a-….test.mjs …]
//
// Environment: TONGBAN_BIN (use this binary instead of building), CARGO_TARGET_DIR (default
// /var/tmp/tongban-target), CHROMIUM (default /usr/bin/chromium), E2E_KEEP_DATA=1 (keep the data dir).
import { spawn, spawnSync } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const artifacts = join(here, 'screenshots')
const started = Date.now()

function fail(msg) {
  console.error(`e2e: ${msg}`)
  process.exit(1)
}

const dist = join(root, 'frontend', 'dist')
if (!existsSync(join(dist, 'index.html'))) fail(`no built web app at ${dist}: run \`make frontend-build\` first`)
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium'
if (!existsSync(chromium)) fail(`${chromium} not found: install Debian's chromium (apt-get install chromium)`)

let bin = process.env.TONGBAN_BIN
if (!bin) {
  const target = process.env.CARGO_TARGET_DIR ?? '/var/tmp/tongban-target'
  console.log(`e2e: cargo build -p tongban-server --bin tongban (CARGO_TARGET_DIR=${target})`)
  const b = spawnSync('cargo', ['build', '-q', '-p', 'tongban-server', '--bin', 'tongban'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, CARGO_TARGET_DIR: target },
  })
  if (b.status !== 0) fail('the server binary did not build')
  bin = join(target, 'debug', 'tongban')
}

const port = await new Promise((ok, ko) => {
  const s = createServer()
  s.once('error', ko)
  s.listen(0, '127.0.0.1', () => {
    const p = s.address().port
    s.close(() => ok(p))
  })
})
const url = `http://127.0.0.1:${port}`
const dataDir = mkdtempSync(join(tmpdir(), 'tongban-e2e-'))
rmSync(artifacts, { recursive: true, force: true })
mkdirSync(artifacts, { recursive: true })
const log = createWriteStream(join(artifacts, 'server.log'))

const server = spawn(bin, ['serve', '--demo', '--listen', `127.0.0.1:${port}`], {
  cwd: dataDir,
  env: {
    ...process.env,
    TONGBAN_DATA_DIR: dataDir,
    TONGBAN_FRONTEND_DIR: dist,
    TONGBAN_PUBLIC_URL: url,
    TONGBAN_SMTP__HOST: '',
    TONGBAN_PUSH__URL: '',
    RUST_LOG: process.env.RUST_LOG ?? 'info',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
})
server.stdout.pipe(log)
server.stderr.pipe(log)
let exited = null
server.on('exit', (code, signal) => {
  exited = { code, signal }
})

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  if (exited === null) {
    server.kill('SIGTERM')
    const deadline = Date.now() + 10_000
    while (exited === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    if (exited === null) server.kill('SIGKILL')
  }
  if (process.env.E2E_KEEP_DATA !== '1') rmSync(dataDir, { recursive: true, force: true })
  else console.log(`e2e: data kept in ${dataDir}`)
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    void stop().then(() => process.exit(130))
  })
}

let status = 1
try {
  const deadline = Date.now() + 120_000
  for (;;) {
    if (exited !== null) throw new Error(`the server exited early (${JSON.stringify(exited)}); see screenshots/server.log`)
    try {
      const r = await fetch(`${url}/readyz`)
      if (r.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the server did not become ready within 120 s')
    await new Promise((r) => setTimeout(r, 250))
  }
  console.log(`e2e: server ready at ${url} after ${((Date.now() - started) / 1000).toFixed(1)} s`)

  const files = process.argv.slice(2).length
    ? process.argv.slice(2)
    : readdirSync(join(here, 'scenarios'))
        .filter((f) => f.endsWith('.test.mjs'))
        .sort()
        .map((f) => join('scenarios', f))
  const run = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', ...files], {
    cwd: here,
    stdio: 'inherit',
    env: { ...process.env, TONGBAN_E2E_URL: url, TONGBAN_E2E_ARTIFACTS: artifacts, CHROMIUM: chromium },
  })
  status = await new Promise((ok) => run.on('exit', (code) => ok(code ?? 1)))
} catch (e) {
  console.error(`e2e: ${e.message}`)
  status = 1
} finally {
  await stop()
}
console.log(`e2e: ${status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${artifacts}`)
process.exit(status)
