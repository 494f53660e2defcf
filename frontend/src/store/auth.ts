import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { api, call, type Schema } from '@/api'
import * as session from '@/api/session'
import { apiLanguage } from '@/api/client'

export type Me = Schema<'MeResponse'>
export type Permission = Schema<'Permission'>

/** Who is signed in (`GET /me`) and what they may do. The tokens live in api/session.ts. */
export const useAuthStore = defineStore('auth', () => {
  const me = ref<Me | null>(null)
  const signedIn = ref(session.currentSession() !== null)
  let loading: Promise<Me | null> | null = null

  const permissions = computed(() => new Set(me.value?.permissions.map((p) => p.permission) ?? []))
  const roles = computed(() => new Set(me.value?.roles.map((r) => r.code) ?? []))

  function can(p: Permission | Permission[] | undefined): boolean {
    if (!p) return true
    const list = Array.isArray(p) ? p : [p]
    return list.some((x) => permissions.value.has(x))
  }

  /** Load `GET /me` once per sign-in (concurrent callers share the request). */
  function ensureMe(): Promise<Me | null> {
    if (!signedIn.value) return Promise.resolve(null)
    if (me.value) return Promise.resolve(me.value)
    loading ??= call(api.GET('/api/v1/me'))
      .then((m) => {
        me.value = m
        return m
      })
      .catch((e: unknown) => {
        // A session the server no longer knows ends here; other errors surface to the caller.
        if (!session.currentSession()) signedIn.value = false
        throw e
      })
      .finally(() => {
        loading = null
      })
    return loading
  }

  async function login(username: string, password: string, totpCode?: string) {
    await session.login(username, password, apiLanguage(), totpCode)
    me.value = null
    await ensureMe()
  }

  async function loginWithSsoCode(code: string) {
    await session.exchangeSsoCode(code, apiLanguage())
    me.value = null
    await ensureMe()
  }

  async function logout() {
    await session.logout()
  }

  session.onSessionChange((s, reason) => {
    signedIn.value = s !== null
    if (!s || reason === 'login') me.value = null
    // Another tab signed in (perhaps as someone else) or refreshed: read who we are again.
    if (s && reason === 'other-tab') {
      me.value = null
      ensureMe().catch(() => undefined)
    }
  })

  return { me, signedIn, permissions, roles, can, ensureMe, login, loginWithSsoCode, logout }
})
