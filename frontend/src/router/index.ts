import { nextTick } from 'vue'
import { createRouter, createWebHistory, type Router } from 'vue-router'

import { i18n } from '@/locales'
import { useAuthStore } from '@/store/auth'

import { fallbackRoutes, moduleRoutes } from './routes'

export function buildRouter(): Router {
  const router = createRouter({
    history: createWebHistory(),
    routes: [...moduleRoutes, ...fallbackRoutes],
    scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
  })

  router.beforeEach(async (to) => {
    const auth = useAuthStore()
    if (to.meta.public && !to.meta.permission) {
      if (auth.signedIn) auth.ensureMe().catch(() => undefined)
      return true
    }
    if (!auth.signedIn) return { name: 'login', query: { redirect: to.fullPath } }
    try {
      await auth.ensureMe()
    } catch {
      // The session ended while loading: sign in again.
      if (!auth.signedIn) return { name: 'login', query: { redirect: to.fullPath } }
    }
    if (!auth.can(to.meta.permission)) return { name: 'forbidden' }
    return true
  })

  router.afterEach((to, from) => {
    const t = i18n.global.t
    document.title = to.meta.title ? `${t(to.meta.title)} - ${t('app.name')}` : t('app.fullName')
    // After moving to another page (not on the first load), put the keyboard and screen-reader
    // focus at the start of its content, as a full page load would.
    if (from.matched.length && to.path !== from.path) {
      void nextTick(() => document.getElementById('main')?.focus({ preventScroll: true }))
    }
  })

  // A chunk that fails to load after a deployment: load the page afresh once.
  router.onError((err, to) => {
    if (/dynamically imported module|Importing a module script failed/i.test(String(err))) {
      if (!sessionStorage.getItem('tongban.reloaded')) {
        sessionStorage.setItem('tongban.reloaded', '1')
        window.location.assign(to.fullPath)
      }
    }
  })
  router.afterEach(() => sessionStorage.removeItem('tongban.reloaded'))

  return router
}
