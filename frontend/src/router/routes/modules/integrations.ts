import type { RouteRecordRaw } from 'vue-router'

import { withAdminMessages } from '@/locales/admin'

// The IT office's pages for integrators (第三方系统接入): API clients (OAuth 2.0 client credentials,
// the roles of their system accounts, secrets shown once) and webhooks with their delivery logs.
// The API allows them to college-wide `settings.manage` only.
const routes: RouteRecordRaw[] = [
  {
    path: '/admin/integrations/clients',
    name: 'admin-api-clients',
    component: withAdminMessages(() => import('@/views/admin/integrations/ApiClientList.vue')),
    meta: { title: 'adminMenu.apiClients', permission: 'settings.manage', menu: { group: 'admin', order: 62, icon: 'Key' } },
  },
  {
    path: '/admin/integrations/clients/:id',
    name: 'admin-api-client',
    component: withAdminMessages(() => import('@/views/admin/integrations/ApiClientDetail.vue')),
    meta: { title: 'adminMenu.apiClients', permission: 'settings.manage' },
  },
  {
    path: '/admin/integrations/webhooks',
    name: 'admin-webhooks',
    component: withAdminMessages(() => import('@/views/admin/integrations/WebhookList.vue')),
    meta: { title: 'adminMenu.webhooks', permission: 'settings.manage', menu: { group: 'admin', order: 64, icon: 'Connection' } },
  },
  {
    path: '/admin/integrations/webhooks/:id',
    name: 'admin-webhook',
    component: withAdminMessages(() => import('@/views/admin/integrations/WebhookDetail.vue')),
    meta: { title: 'adminMenu.webhooks', permission: 'settings.manage' },
  },
]
export default routes
