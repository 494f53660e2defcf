import { api, call } from '@/api'
import { rememberUser, userName } from '@/composables/useDirectory'

/**
 * Names for user ids that a view gives without them (positions name only their holder's id):
 * `GET /users?ids=`, 100 ids a request, within the caller's `org.read` scope; unknown ids stay ids.
 */
export async function resolveUserNames(ids: Iterable<string>): Promise<void> {
  const missing = [...new Set(ids)].filter((id) => !userName(id))
  for (let i = 0; i < missing.length; i += 100) {
    const chunk = missing.slice(i, i + 100)
    const p = await call(api.GET('/api/v1/users', { params: { query: { ids: chunk.join(','), page_size: 100 } } }))
    for (const u of p.items) rememberUser(u.id, u.display_name)
  }
}
