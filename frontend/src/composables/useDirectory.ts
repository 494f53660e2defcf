import { reactive } from 'vue'

import { api, call, type Schema } from '@/api'
import { useAuthStore } from '@/store/auth'

export type Department = Schema<'DepartmentView'>

// Departments are public and few: loaded once per page load and shared.
let departments: Promise<Department[]> | null = null
export function loadDepartments(): Promise<Department[]> {
  departments ??= call(api.GET('/api/v1/departments')).catch((e: unknown) => {
    departments = null
    throw e
  })
  return departments
}

const userNames = reactive(new Map<string, string | null>())
/**
 * A user's display name for ids in form data, looked up once (`GET /users/{id}`); null while
 * unknown or when the caller may not read the user (the id is shown then).
 */
export function userName(id: string): string | null {
  if (!userNames.has(id)) {
    userNames.set(id, null)
    // Reading users needs `org.read`; without it the id stands (and no request is refused).
    if (!useAuthStore().can('org.read')) return null
    call(api.GET('/api/v1/users/{id}', { params: { path: { id } } }))
      .then((u) => userNames.set(id, u.display_name))
      .catch(() => undefined)
  }
  return userNames.get(id) ?? null
}
export function rememberUser(id: string, name: string) {
  userNames.set(id, name)
}
