import type { RouteRecordRaw } from 'vue-router'

// The hall: public pages (visitors see them too).
const routes: RouteRecordRaw[] = [
  {
    path: '/',
    name: 'hall',
    component: () => import('@/views/hall/HallHome.vue'),
    meta: { title: 'menu.hall', public: true, tabRoot: true, menu: { group: 'hall', order: 10, icon: 'HomeFilled', mobileTab: true } },
  },
  {
    path: '/guides',
    name: 'guides',
    component: () => import('@/views/guides/GuideList.vue'),
    meta: { title: 'menu.guides', public: true, menu: { group: 'hall', order: 20, icon: 'Notebook' } },
  },
  {
    path: '/guides/:id',
    name: 'guide',
    component: () => import('@/views/guides/GuideDetail.vue'),
    meta: { title: 'menu.guides', public: true },
  },
  {
    path: '/progress',
    name: 'progress',
    component: () => import('@/views/progress/ProgressLookup.vue'),
    meta: { title: 'progress.title', public: true, menu: { group: 'hall', order: 80, icon: 'Search' } },
  },
]
export default routes
