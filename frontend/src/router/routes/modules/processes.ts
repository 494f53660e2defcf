import type { RouteRecordRaw } from 'vue-router'

import { withDesignerMessages } from '@/locales/designer'

// The IT office's process pages: the list, a process with its versions and lifecycle, and the
// designer (bpmn-js, a lazy chunk of its own that no other page loads). Department administrators
// (`guide.manage`) read their department's processes.
const routes: RouteRecordRaw[] = [
  {
    path: '/admin/processes',
    name: 'admin-processes',
    component: withDesignerMessages(() => import('@/views/admin/processes/ProcessList.vue')),
    meta: {
      title: 'processes.menu',
      permission: ['process.manage', 'guide.manage'],
      menu: { group: 'admin', order: 20, icon: 'Share' },
    },
  },
  {
    path: '/admin/processes/:id',
    name: 'admin-process',
    component: withDesignerMessages(() => import('@/views/admin/processes/ProcessDetail.vue')),
    meta: { title: 'processes.menu', permission: ['process.manage', 'guide.manage'] },
  },
  {
    path: '/admin/processes/:id/design',
    name: 'admin-process-design',
    component: withDesignerMessages(() => import('@/views/admin/processes/ProcessDesigner.vue')),
    meta: { title: 'designer.title', permission: 'process.manage' },
  },
]
export default routes
