import type { RouteRecordRaw } from 'vue-router'

import { withAdminMessages } from '@/locales/admin'

// Supervision (第三条, 第十四条) for leaders, the leading group, the discipline office and
// department administrators (`stats.read`, scoped by the server): figures and charts (ECharts,
// only in these lazy chunks), the yellow and red cards, the violations register and the
// quarterly assessment.
const routes: RouteRecordRaw[] = [
  {
    path: '/dashboard',
    name: 'dashboard',
    component: withAdminMessages(() => import('@/views/dashboard/StatsOverview.vue')),
    meta: { title: 'adminMenu.dashboard', permission: ['stats.read', 'supervision.manage'], menu: { group: 'admin', order: 5, icon: 'DataAnalysis' } },
  },
  {
    path: '/dashboard/cards',
    name: 'dashboard-cards',
    component: withAdminMessages(() => import('@/views/dashboard/CardList.vue')),
    meta: { title: 'adminMenu.dashboard', permission: ['stats.read', 'supervision.manage'] },
  },
  {
    path: '/dashboard/violations',
    name: 'dashboard-violations',
    component: withAdminMessages(() => import('@/views/dashboard/ViolationList.vue')),
    meta: { title: 'adminMenu.dashboard', permission: ['stats.read', 'supervision.manage'] },
  },
  {
    path: '/dashboard/assessment',
    name: 'dashboard-assessment',
    component: withAdminMessages(() => import('@/views/dashboard/AssessmentTable.vue')),
    meta: { title: 'adminMenu.dashboard', permission: ['stats.read', 'supervision.manage'] },
  },
]
export default routes
