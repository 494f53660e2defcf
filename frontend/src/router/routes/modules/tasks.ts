import type { RouteRecordRaw } from 'vue-router'

// The handler workspace.
const routes: RouteRecordRaw[] = [
  {
    path: '/tasks',
    name: 'tasks',
    component: () => import('@/views/tasks/TaskList.vue'),
    meta: {
      title: 'menu.tasks',
      permission: 'task.handle',
      tabRoot: true,
      menu: { group: 'work', order: 10, icon: 'Stamp', mobileTab: true },
    },
  },
  {
    path: '/tasks/:id',
    name: 'task',
    component: () => import('@/views/tasks/TaskDetail.vue'),
    meta: { title: 'menu.tasks', permission: 'task.handle' },
  },
  {
    path: '/absences',
    name: 'absences',
    component: () => import('@/views/absences/AbsenceSettings.vue'),
    meta: { title: 'menu.absences', permission: 'task.handle', menu: { group: 'work', order: 20, icon: 'Calendar' } },
  },
]
export default routes
