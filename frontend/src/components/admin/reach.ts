import type { Me, Permission } from '@/store/auth'

import { withDescendants, type Department } from './departments'

/**
 * The departments a permission of the signed-in user reaches, as far as `GET /me` tells: `all`
 * for a college-wide grant; else the anchors of the roles held with department scope (the user's
 * own department when a role names none) and the departments supervised as 分管院领导, each with
 * the departments below it. `GET /me` does not say which role grants which permission, so this is
 * what the filters offer; the server decides (and answers 403 outside the caller's reach).
 */
export function reachOf(me: Me | null | undefined, permission: Permission, departments: Department[]): 'all' | Set<string> {
  const held = me?.permissions.find((p) => p.permission === permission)
  if (!me || !held) return new Set()
  if (held.scope === 'all') return 'all'
  const anchors = new Set<string>()
  for (const r of me.roles) {
    if (r.scope === 'department') {
      const d = r.department_id ?? me.user.department_id
      if (d) anchors.add(d)
    }
    if (r.scope === 'supervised') {
      for (const p of me.positions) if (p.kind === 'supervising_leader' && p.department_id) anchors.add(p.department_id)
    }
  }
  if (held.scope === 'supervised') {
    for (const p of me.positions) if (p.kind === 'supervising_leader' && p.department_id) anchors.add(p.department_id)
  }
  return withDescendants(departments, anchors)
}

/** The departments of `list` within a reach. */
export function inReach(list: Department[], reach: 'all' | Set<string>): Department[] {
  return reach === 'all' ? list : list.filter((d) => reach.has(d.id))
}
