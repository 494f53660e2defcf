import { reactive } from 'vue'

import { api, call, type Schema } from '@/api'

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
/** Forget the loaded departments (after the organisation pages changed them): the next load reads them again. */
export function forgetDepartments() {
  departments = null
}

const userNames = reactive(new Map<string, string>())
/**
 * A user's display name for an id in form data, when known: from the affair view's `people` or
 * from a picker's results (`rememberUser`). Unknown ids are shown as they are.
 */
export function userName(id: string): string | null {
  return userNames.get(id) ?? null
}
export function rememberUser(id: string, name: string) {
  userNames.set(id, name)
}
