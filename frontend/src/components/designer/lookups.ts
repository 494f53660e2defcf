// What the designer's pickers choose from: users (names behind the ids a definition stores),
// roles, departments (rules name departments by code, process fields by id), certificate types.
// Loaded once per page load and shared; a refused list is the caller's problem to show.
import { reactive } from 'vue'

import { ApiError, api, call, type Schema } from '@/api'

export type Role = Schema<'RoleView'>
export type Department = Schema<'DepartmentView'>
export type CertificateType = Schema<'CertificateTypeView'>
export type User = Schema<'UserView'>

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null
  return () => {
    p ??= load().catch((e: unknown) => {
      p = null
      throw e
    })
    return p
  }
}

export const loadRoles = once(() => call(api.GET('/api/v1/roles')))
export const loadDepartments = once(() => call(api.GET('/api/v1/departments')))
export const loadCertificateTypes = once(() => call(api.GET('/api/v1/certificate-types')))
/** Names of the configured webhooks (a `webhook` service task calls one by name). */
export const loadWebhooks = once(() => call(api.GET('/api/v1/webhooks')).then((hooks) => hooks.map((h) => ({ name: h.name, active: h.active }))))

/** Names of users by id, as far as they are known. */
export const people = reactive(new Map<string, { name: string; detail: string }>())

export function rememberPerson(u: { id: string; name: string; detail?: string }) {
  people.set(u.id, { name: u.name, detail: u.detail ?? '' })
}

export function describeUser(u: User): string {
  const no = u.staff_no ?? u.student_no ?? u.username
  return `${u.display_name}（${no}）`
}

const asked = new Set<string>()
/**
 * Look up the names of the given user ids that are not known yet, 100 at a time
 * (`GET /users?ids=`, within the caller's `org.read` scope). Ids that cannot be read stay ids.
 */
export async function resolvePeople(ids: Iterable<string>): Promise<void> {
  const todo = [...new Set(ids)].filter((id) => !people.has(id) && !asked.has(id))
  for (const id of todo) asked.add(id)
  const chunks: string[][] = []
  for (let i = 0; i < todo.length; i += 100) chunks.push(todo.slice(i, i + 100))
  await Promise.all(
    chunks.map(async (chunk) => {
      try {
        const page = await call(api.GET('/api/v1/users', { params: { query: { ids: chunk.join(','), page_size: 100 } } }))
        for (const u of page.items) rememberPerson({ id: u.id, name: u.display_name, detail: describeUser(u) })
      } catch (e) {
        if (!(e instanceof ApiError)) throw e
        // Out of reach (no org.read): shown as ids.
      }
    }),
  )
}

export function personName(id: string): string {
  return people.get(id)?.name ?? id
}

/** Someone a picker offers: from the user list or the campus directory. */
export interface Candidate {
  id: string
  label: string
}

/**
 * People by name, username, 学号 or 工号: the users the caller may read (`GET /users`, within their
 * `org.read` scope — students included) together with the campus directory of staff that anyone
 * signed in may search (`GET /people`), so that a department naming testers or owners also finds
 * staff of other departments. Either may be refused; both refused is an error.
 */
export async function searchPeople(q: string): Promise<Candidate[]> {
  const [users, staff] = await Promise.allSettled([
    call(api.GET('/api/v1/users', { params: { query: { q: q || undefined, status: 'active', page_size: 20 } } })),
    // The directory needs something to look for.
    q ? call(api.GET('/api/v1/people', { params: { query: { q } } })) : Promise.resolve([]),
  ])
  if (users.status === 'rejected' && staff.status === 'rejected') throw users.reason
  const out = new Map<string, Candidate>()
  if (users.status === 'fulfilled') {
    for (const u of users.value.items) {
      rememberPerson({ id: u.id, name: u.display_name, detail: describeUser(u) })
      out.set(u.id, { id: u.id, label: describeUser(u) })
    }
  }
  if (staff.status === 'fulfilled') {
    for (const p of staff.value) {
      if (out.has(p.id)) continue
      const label = p.department_name ? `${p.name}（${p.department_name}）` : p.name
      if (!people.has(p.id)) rememberPerson({ id: p.id, name: p.name, detail: label })
      out.set(p.id, { id: p.id, label })
    }
  }
  return [...out.values()]
}
