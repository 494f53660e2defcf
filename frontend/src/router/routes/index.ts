import type { RouteRecordRaw } from 'vue-router'

/**
 * Every route module under ./modules (one per area: hall, affairs, tasks, …) exports a default
 * array of routes. Adding an area is adding a file; nothing here changes.
 */
const modules = import.meta.glob<{ default: RouteRecordRaw[] }>('./modules/*.ts', { eager: true })

export const moduleRoutes: RouteRecordRaw[] = Object.keys(modules)
  .sort()
  .flatMap((k) => modules[k]?.default ?? [])

export const fallbackRoutes: RouteRecordRaw[] = [
  {
    path: '/403',
    name: 'forbidden',
    component: () => import('@/views/error/ForbiddenPage.vue'),
    meta: { title: 'error.forbidden', public: true },
  },
  {
    path: '/:pathMatch(.*)*',
    name: 'not-found',
    component: () => import('@/views/error/NotFoundPage.vue'),
    meta: { title: 'error.notFound', public: true },
  },
]
