// Fails when src/api/schema.d.ts is not what openapi-typescript makes of ../openapi/openapi.json,
// i.e. when the spec changed and `npm run gen:api` was not run (or the file was edited by hand).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'tongban-api-'))
try {
  const fresh = join(dir, 'schema.d.ts')
  execFileSync(process.execPath, ['node_modules/openapi-typescript/bin/cli.js', '../openapi/openapi.json', '-o', fresh], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const committed = readFileSync('src/api/schema.d.ts', 'utf8')
  if (readFileSync(fresh, 'utf8') !== committed) {
    console.error('src/api/schema.d.ts is stale: ../openapi/openapi.json changed. Run `npm run gen:api` and commit the result.')
    process.exit(1)
  }
  console.log('API types are up to date with openapi/openapi.json')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
