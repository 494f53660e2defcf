import type { RouteRecordRaw } from 'vue-router'

const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('@/views/auth/LoginPage.vue'),
    meta: { title: 'auth.login', public: true, layout: 'blank' },
  },
  {
    path: '/login/sso',
    name: 'login-sso',
    component: () => import('@/views/auth/SsoCallbackPage.vue'),
    meta: { title: 'auth.login', public: true, layout: 'blank' },
  },
]
export default routes
