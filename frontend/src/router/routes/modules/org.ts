import type { RouteRecordRaw } from 'vue-router'

import { withAdminMessages } from '@/locales/admin'

// The IT office's organisation pages (第四条, 第十三条): departments, users with their roles,
// absences and hand-over, roles and permissions, positions, the working-day calendar and the
// audit trail.
const routes: RouteRecordRaw[] = [
  {
    path: '/admin/org/departments',
    name: 'admin-departments',
    component: withAdminMessages(() => import('@/views/admin/org/DepartmentTree.vue')),
    meta: { title: 'adminMenu.departments', permission: 'org.manage', menu: { group: 'admin', order: 50, icon: 'OfficeBuilding' } },
  },
  {
    path: '/admin/org/users',
    name: 'admin-users',
    component: withAdminMessages(() => import('@/views/admin/org/UserList.vue')),
    meta: { title: 'adminMenu.users', permission: 'user.manage', menu: { group: 'admin', order: 52, icon: 'User' } },
  },
  {
    path: '/admin/org/users/:id',
    name: 'admin-user',
    component: withAdminMessages(() => import('@/views/admin/org/UserDetail.vue')),
    meta: { title: 'adminMenu.users', permission: 'user.manage' },
  },
  {
    path: '/admin/org/roles',
    name: 'admin-roles',
    component: withAdminMessages(() => import('@/views/admin/org/RoleList.vue')),
    meta: { title: 'adminMenu.roles', permission: 'role.manage', menu: { group: 'admin', order: 54, icon: 'Lock' } },
  },
  {
    path: '/admin/org/positions',
    name: 'admin-positions',
    component: withAdminMessages(() => import('@/views/admin/org/PositionList.vue')),
    meta: { title: 'adminMenu.positions', permission: 'org.manage', menu: { group: 'admin', order: 56, icon: 'Avatar' } },
  },
  {
    path: '/admin/holidays',
    name: 'admin-holidays',
    component: withAdminMessages(() => import('@/views/admin/holidays/HolidayCalendarPage.vue')),
    meta: { title: 'adminMenu.holidays', permission: 'settings.manage', menu: { group: 'admin', order: 60, icon: 'Sunny' } },
  },
  {
    path: '/admin/audit',
    name: 'admin-audit',
    component: withAdminMessages(() => import('@/views/admin/audit/AuditLog.vue')),
    meta: { title: 'adminMenu.audit', permission: 'audit.read', menu: { group: 'admin', order: 70, icon: 'View' } },
  },
]
export default routes
