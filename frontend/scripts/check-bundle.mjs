// Measures the JavaScript each applicant page loads before it can show anything — the entry chunk,
// the layout (PC or phone) and the page's own lazy chunk, each with everything they import
// statically — gzipped, from the build manifest, and fails above the budget of quality.md.
// Run after `npm run build`.
import { readdirSync, readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'

const BUDGET_KIB = 300
// Views of these features are applicant pages (the hall and everything an applicant opens).
const APPLICANT = /^src\/views\/(hall|guides|apply|affairs|drafts|certificates|notifications|progress|auth|me)\//
const LAYOUTS = /^src\/layouts\/(PcLayout|MobileLayout)\.vue$/

const manifest = JSON.parse(readFileSync('dist/.vite/manifest.json', 'utf8'))
const gz = new Map()
const gzipped = (file) => {
  if (!gz.has(file)) gz.set(file, gzipSync(readFileSync(`dist/${file}`), { level: 9 }).length)
  return gz.get(file)
}
const closure = (key, out = new Set()) => {
  const chunk = manifest[key]
  if (!chunk || out.has(chunk.file)) return out
  out.add(chunk.file)
  for (const k of chunk.imports ?? []) closure(k, out)
  return out
}
const kib = (bytes) => (bytes / 1024).toFixed(1)
const size = (files) => [...files].filter((f) => f.endsWith('.js')).reduce((n, f) => n + gzipped(f), 0)

const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry)
if (!entryKey) throw new Error('no entry chunk in dist/.vite/manifest.json')
const entry = closure(entryKey)
const layouts = Object.keys(manifest).filter((k) => LAYOUTS.test(k))
const pages = Object.keys(manifest).filter((k) => APPLICANT.test(k) && manifest[k].isDynamicEntry)
if (layouts.length !== 2 || pages.length === 0) throw new Error(`expected 2 layouts and applicant pages, found ${layouts.length} and ${pages.length}`)

console.log(`entry ${entryKey}: ${kib(size(entry))} KiB gzipped JS`)
let worst = { total: 0, label: '' }
const rows = []
for (const layout of layouts) {
  for (const page of pages) {
    const files = new Set([...entry, ...closure(layout), ...closure(page)])
    const total = size(files)
    rows.push([total, `${layout.replace('src/layouts/', '')} + ${page.replace('src/views/', '')}`])
    if (total > worst.total) worst = { total, label: rows.at(-1)[1] }
  }
}
rows.sort((a, b) => b[0] - a[0])
console.log('heaviest applicant pages (initial JS, gzipped):')
for (const [total, label] of rows.slice(0, 8)) console.log(`  ${kib(total).padStart(7)} KiB  ${label}`)

// Shared chunks have no source of their own: name them by the pages and components that use them.
const importers = (key) =>
  Object.entries(manifest)
    .filter(([, c]) => (c.imports ?? []).includes(key) && c.src)
    .map(([, c]) => c.src.replace(/^src\//, ''))
const lazy = Object.entries(manifest)
  .filter(([, c]) => c.file.endsWith('.js') && !entry.has(c.file))
  .map(([key, c]) => {
    const users = importers(key)
    const label = c.src ?? `shared by ${users.slice(0, 3).join(', ')}${users.length > 3 ? ` and ${users.length - 3} more` : ''}`
    return [gzipped(c.file), label]
  })
  .sort((a, b) => b[0] - a[0])
console.log('biggest lazy chunks (gzipped):')
for (const [bytes, name] of lazy.slice(0, 6)) console.log(`  ${kib(bytes).padStart(7)} KiB  ${name}`)

// Nothing the browser loads may come from outside the origin (offline campus networks, the CSP):
// no stylesheet url() and no <script>/<link> in index.html pointing at another host.
const offOrigin = []
for (const f of readdirSync('dist', { recursive: true })) {
  const name = String(f)
  if (!name.endsWith('.css') && name !== 'index.html') continue
  const text = readFileSync(`dist/${name}`, 'utf8')
  const refs = name.endsWith('.css')
    ? text.match(/url\(\s*['"]?(?:https?:)?\/\/[^)]*\)/g)
    : text.match(/(?:src|href)=["'](?:https?:)?\/\/[^"']*["']/g)
  for (const r of refs ?? []) offOrigin.push(`${name}: ${r}`)
}
if (offOrigin.length) {
  console.error(`FAIL: the build points outside its origin:\n  ${offOrigin.join('\n  ')}`)
  process.exit(1)
}
console.log('OK: no stylesheet or page asset points outside the origin')

if (worst.total > BUDGET_KIB * 1024) {
  console.error(`FAIL: ${worst.label} loads ${kib(worst.total)} KiB gzipped JS, above the ${BUDGET_KIB} KiB budget`)
  process.exit(1)
}
console.log(`OK: applicant pages load at most ${kib(worst.total)} KiB gzipped JS (budget ${BUDGET_KIB} KiB; ${worst.label})`)
