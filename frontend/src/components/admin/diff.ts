// Differences for people to read: lines of two texts (guide versions, certificate templates) and
// the leaves of two JSON values (audit records' before and after).

export interface LineOp {
  op: 'same' | 'add' | 'del'
  text: string
}

/** Longer inputs are shown as a whole replacement rather than spending quadratic time on them. */
const MAX_LINES = 2000

/** The lines of `b` against those of `a`: kept, added and deleted lines (longest common subsequence). */
export function diffLines(a: string, b: string): LineOp[] {
  const x = a === '' ? [] : a.split('\n')
  const y = b === '' ? [] : b.split('\n')
  if (x.length > MAX_LINES || y.length > MAX_LINES) {
    return [...x.map((text) => ({ op: 'del' as const, text })), ...y.map((text) => ({ op: 'add' as const, text }))]
  }
  // lcs[i][j]: length of the longest common subsequence of x[i..] and y[j..].
  const lcs: number[][] = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0))
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
    }
  }
  const out: LineOp[] = []
  let i = 0
  let j = 0
  while (i < x.length && j < y.length) {
    if (x[i] === y[j]) {
      out.push({ op: 'same', text: x[i]! })
      i++
      j++
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) {
      out.push({ op: 'del', text: x[i++]! })
    } else {
      out.push({ op: 'add', text: y[j++]! })
    }
  }
  while (i < x.length) out.push({ op: 'del', text: x[i++]! })
  while (j < y.length) out.push({ op: 'add', text: y[j++]! })
  return out
}

/** Every leaf of a JSON value by its path (`a.b[0].c`), as JSON text; empty objects and arrays are leaves. */
export function flattenJson(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(v) && v.length) {
    v.forEach((x, i) => flattenJson(x, `${prefix}[${i}]`, out))
  } else if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flattenJson(x, prefix ? `${prefix}.${k}` : k, out)
  } else if (prefix || v !== undefined) {
    out.set(prefix || '(value)', v === undefined ? 'undefined' : JSON.stringify(v))
  }
  return out
}

export interface JsonChange {
  path: string
  kind: 'added' | 'removed' | 'changed'
  before?: string
  after?: string
}

/** The leaves that differ between two JSON values, in the order of `before` then new ones of `after`. */
export function jsonChanges(before: unknown, after: unknown): JsonChange[] {
  const a = before === null || before === undefined ? new Map<string, string>() : flattenJson(before)
  const b = after === null || after === undefined ? new Map<string, string>() : flattenJson(after)
  const out: JsonChange[] = []
  for (const [path, v] of a) {
    if (!b.has(path)) out.push({ path, kind: 'removed', before: v })
    else if (b.get(path) !== v) out.push({ path, kind: 'changed', before: v, after: b.get(path) })
  }
  for (const [path, v] of b) if (!a.has(path)) out.push({ path, kind: 'added', after: v })
  return out
}
