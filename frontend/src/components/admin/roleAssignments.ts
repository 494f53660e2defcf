import { i18n } from '@/locales'
import type { Schema } from '@/api'

export type Assignment = Schema<'RoleAssignment'>
export type Scope = Schema<'Scope'>
export const SCOPES: Scope[] = ['own', 'department', 'supervised', 'all']

/** What is sent: the anchor department only for department scope (absent means the user's own). */
export function normalize(list: Assignment[]): Assignment[] {
  return list.map((a) => ({ role_id: a.role_id, scope: a.scope, department_id: a.scope === 'department' ? (a.department_id ?? null) : null }))
}

export interface AssignmentCheck {
  /** Per row: what must be fixed before saving. */
  errors: Record<number, string>
  /** Per row: what the administrator should know (saving is allowed). */
  notes: Record<number, string>
}

/**
 * Check a user's new set of roles before `PUT /users/{id}/roles`: each row names a role; a role is
 * granted once per scope and anchor; department scope needs an anchor or a department of the
 * user's own; supervised scope reaches nothing unless the user holds a 分管院领导 position; an
 * `all` grant is college-wide.
 */
export function checkAssignments(
  list: Assignment[],
  ctx: { userDepartmentId?: string | null; supervises: number; roles: Schema<'RoleView'>[] },
): AssignmentCheck {
  const t = i18n.global.t
  const errors: Record<number, string> = {}
  const notes: Record<number, string> = {}
  const seen = new Map<string, number>()
  list.forEach((a, i) => {
    if (!a.role_id) {
      errors[i] = t('users.roleRequired')
      return
    }
    if (!ctx.roles.some((r) => r.id === a.role_id)) errors[i] = t('users.roleUnknown')
    const anchor = a.scope === 'department' ? (a.department_id ?? ctx.userDepartmentId ?? null) : null
    if (a.scope === 'department' && !anchor) errors[i] ??= t('users.anchorRequired')
    const key = `${a.role_id}|${a.scope}|${anchor ?? ''}`
    const first = seen.get(key)
    if (first !== undefined) errors[i] ??= t('users.duplicate', { n: first + 1 })
    else seen.set(key, i)
    if (a.scope === 'supervised' && ctx.supervises === 0) notes[i] = t('users.supervisesNothing')
    if (a.scope === 'all') notes[i] = t('users.allScope')
    if (a.scope === 'department' && !a.department_id && anchor) notes[i] = t('users.ownDepartment')
  })
  return { errors, notes }
}

/** Whether two sets grant the same (order aside). */
export function sameAssignments(a: Assignment[], b: Assignment[]): boolean {
  const key = (x: Assignment[]) =>
    normalize(x)
      .map((r) => `${r.role_id}|${r.scope}|${r.department_id ?? ''}`)
      .sort()
      .join(';')
  return key(a) === key(b)
}
