import { ApiError } from '@/api'

/**
 * The server's field errors of a failed save, by field path with the body's prefixes removed
 * (`content.materials[0].name` → `materials[0].name`; certificate types answer some fields as
 * `fields.number_prefix`, others as `template`). Empty for other errors.
 */
export function fieldErrorsOf(e: unknown, prefixes: string[] = []): Record<string, string> {
  if (!(e instanceof ApiError)) return {}
  const out: Record<string, string> = {}
  for (const err of e.errors) {
    const p = prefixes.find((x) => err.field.startsWith(x))
    const key = p ? err.field.slice(p.length) : err.field
    out[key] ??= err.message
  }
  return out
}

/** Whether a failed save failed because someone else saved first (409 with a stale version). */
export function isStale(e: unknown): boolean {
  return e instanceof ApiError && e.code === 'version_conflict'
}
