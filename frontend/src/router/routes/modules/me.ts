import type { RouteRecordRaw } from 'vue-router'

const routes: RouteRecordRaw[] = [
  {
    path: '/certificates',
    name: 'certificates',
    component: () => import('@/views/certificates/CertificateWallet.vue'),
    meta: { title: 'menu.certificates', menu: { group: 'hall', order: 50, icon: 'Postcard' } },
  },
  {
    path: '/notifications',
    name: 'notifications',
    component: () => import('@/views/notifications/NotificationList.vue'),
    meta: { title: 'menu.notifications', tabRoot: true, menu: { group: 'hall', order: 60, icon: 'Bell', mobileTab: true } },
  },
  {
    path: '/me',
    name: 'me',
    component: () => import('@/views/me/MePage.vue'),
    meta: { title: 'menu.me', tabRoot: true },
  },
]
export default routes
