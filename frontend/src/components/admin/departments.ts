import type { Schema } from '@/api'
import { localName } from '@/locales'

export type Department = Schema<'DepartmentView'>

export interface DeptNode {
  value: string
  label: string
  dept: Department
  disabled?: boolean
  children: DeptNode[]
}

/**
 * The flat department list (`parent_id`) as a tree in sibling order. Departments whose parent is
 * missing from the list become roots, so a filtered list still shows everything it has.
 */
export function departmentTree(list: Department[], opts: { includeInactive?: boolean; disable?: (d: Department) => boolean } = {}): DeptNode[] {
  const shown = opts.includeInactive ? list : list.filter((d) => d.active)
  const ids = new Set(shown.map((d) => d.id))
  const byParent = new Map<string | null, Department[]>()
  for (const d of shown) {
    const p = d.parent_id && ids.has(d.parent_id) ? d.parent_id : null
    byParent.set(p, [...(byParent.get(p) ?? []), d])
  }
  const build = (p: string | null, seen: Set<string>): DeptNode[] =>
    (byParent.get(p) ?? [])
      .filter((d) => !seen.has(d.id))
      .sort((a, b) => a.sort_order - b.sort_order || a.name.localeCompare(b.name, 'zh-CN'))
      .map((d) => ({
        value: d.id,
        label: localName(d.name, d.name_en),
        dept: d,
        disabled: opts.disable?.(d) ?? false,
        children: build(d.id, new Set([...seen, d.id])),
      }))
  return build(null, new Set())
}

/** A department and every department below it. */
export function withDescendants(list: Department[], roots: Iterable<string>): Set<string> {
  const out = new Set<string>(roots)
  let grew = true
  while (grew) {
    grew = false
    for (const d of list) {
      if (d.parent_id && out.has(d.parent_id) && !out.has(d.id)) {
        out.add(d.id)
        grew = true
      }
    }
  }
  return out
}

/** Names by id, in the UI language; unknown ids as '—'. */
export function departmentNamer(list: Department[]): (id: string | null | undefined) => string {
  const byId = new Map(list.map((d) => [d.id, d]))
  return (id) => {
    const d = id ? byId.get(id) : undefined
    return d ? localName(d.name, d.name_en) : '—'
  }
}
