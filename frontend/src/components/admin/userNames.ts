import { api, call } from '@/api'
import { rememberUser, userName } from '@/composables/useDirectory'

/**
 * Names for user ids that a view gives without them (positions name only their holder's id).
 * Reading each user (`GET /users/{id}`) would audit a personal-data read per row, so the staff
 * list is paged (100 a page, at most `maxPages`) until every id is found; unknown ids stay ids.
 */
export async function resolveUserNames(ids: Iterable<string>, maxPages = 20): Promise<void> {
  const missing = new Set([...ids].filter((id) => !userName(id)))
  for (let page = 1; missing.size && page <= maxPages; page++) {
    const p = await call(api.GET('/api/v1/users', { params: { query: { kind: 'staff', page, page_size: 100 } } }))
    for (const u of p.items) {
      rememberUser(u.id, u.display_name)
      missing.delete(u.id)
    }
    if (page * 100 >= p.total) break
  }
}
