import type { RouteRecordRaw } from 'vue-router'

import { withDesignerMessages } from '@/locales/designer'

// 网上办事流程建设需求计划 (第六条~第九条): the requests for new processes, each as the regulation's
// approval form with its opinions, the duties of 第九条 and its change requests. Anyone may be
// shown the requests of their reach (the server decides); the menu shows them to those who apply,
// sign or build (department administrators, signers, the IT office).
const routes: RouteRecordRaw[] = [
  {
    path: '/requirement-plans',
    name: 'requirement-plans',
    component: withDesignerMessages(() => import('@/views/admin/requirements/PlanList.vue')),
    meta: {
      title: 'plans.menu',
      permission: ['process.manage', 'guide.manage', 'task.handle'],
      menu: { group: 'admin', order: 30, icon: 'Tickets' },
    },
  },
  {
    path: '/requirement-plans/:id',
    name: 'requirement-plan',
    component: withDesignerMessages(() => import('@/views/admin/requirements/PlanDetail.vue')),
    meta: { title: 'plans.menu', permission: ['process.manage', 'guide.manage', 'task.handle'] },
  },
  {
    // The apply page for a process named by its key: "申报新流程" (process_requirement_plan) and
    // "需求变更申请" (process_requirement_change, prefilled with the plan's number and department).
    path: '/apply/process/:processKey',
    name: 'apply-process',
    component: () => import('@/views/apply/ApplyPage.vue'),
    meta: { title: 'apply.title' },
  },
]
export default routes
