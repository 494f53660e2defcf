import { computed } from 'vue'

import { buildMenu } from '@/router/menu'
import { useAuthStore } from '@/store/auth'

/** The menu the current user may see (public pages for visitors; permissions from `GET /me`). */
export function useMenu() {
  const auth = useAuthStore()
  return computed(() =>
    buildMenu((r) => {
      if (!r.meta?.public && !auth.signedIn) return false
      return auth.can(r.meta?.permission)
    }),
  )
}
