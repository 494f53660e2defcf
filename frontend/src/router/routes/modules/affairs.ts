import type { RouteRecordRaw } from 'vue-router'

// Applying and following one's own affairs.
const routes: RouteRecordRaw[] = [
  {
    path: '/apply/:guideId',
    name: 'apply',
    component: () => import('@/views/apply/ApplyPage.vue'),
    meta: { title: 'apply.title' },
  },
  {
    path: '/affairs',
    name: 'my-affairs',
    component: () => import('@/views/affairs/AffairList.vue'),
    meta: { title: 'menu.myAffairs', tabRoot: true, menu: { group: 'hall', order: 30, icon: 'Document', mobileTab: true } },
  },
  {
    path: '/affairs/:id',
    name: 'affair',
    component: () => import('@/views/affairs/AffairDetail.vue'),
    meta: { title: 'menu.myAffairs' },
  },
  {
    path: '/drafts',
    name: 'drafts',
    component: () => import('@/views/drafts/DraftList.vue'),
    meta: { title: 'menu.drafts', menu: { group: 'hall', order: 40, icon: 'EditPen' } },
  },
]
export default routes
