import type { RouteRecordRaw } from 'vue-router'

import { withAdminMessages } from '@/locales/admin'

// The department administrators' pages (事项主体部门管理员, 第五条): their guides, the questions on
// them, certificate types and certificates, the department's affairs with their archives; and the
// hall's themes, quick channels and recommendations (IT office, `settings.manage`). Every view is
// lazy and loads the admin messages with it.
const routes: RouteRecordRaw[] = [
  {
    path: '/admin/guides',
    name: 'admin-guides',
    component: withAdminMessages(() => import('@/views/admin/guides/GuideList.vue')),
    meta: { title: 'adminMenu.guides', permission: 'guide.manage', menu: { group: 'admin', order: 10, icon: 'Notebook' } },
  },
  {
    path: '/admin/guides/:id',
    name: 'admin-guide',
    component: withAdminMessages(() => import('@/views/admin/guides/GuideEditor.vue')),
    meta: { title: 'adminMenu.guides', permission: 'guide.manage' },
  },
  {
    // Handlers answer for their department too (`consult.answer`): in the workspace group.
    path: '/admin/consultation',
    name: 'admin-consultation',
    component: withAdminMessages(() => import('@/views/admin/consultation/QuestionInbox.vue')),
    meta: { title: 'adminMenu.consultation', permission: 'consult.answer', menu: { group: 'work', order: 30, icon: 'ChatDotRound' } },
  },
  {
    path: '/admin/certificate-types',
    name: 'admin-certificate-types',
    component: withAdminMessages(() => import('@/views/admin/certificates/CertificateTypeList.vue')),
    meta: { title: 'adminMenu.certificateTypes', permission: 'certificate.issue', menu: { group: 'admin', order: 14, icon: 'Medal' } },
  },
  {
    path: '/admin/certificate-types/:id',
    name: 'admin-certificate-type',
    component: withAdminMessages(() => import('@/views/admin/certificates/CertificateTypeEditor.vue')),
    meta: { title: 'adminMenu.certificateTypes', permission: 'certificate.issue' },
  },
  {
    path: '/admin/certificates',
    name: 'admin-certificates',
    component: withAdminMessages(() => import('@/views/admin/certificates/CertificateList.vue')),
    meta: { title: 'adminMenu.certificates', permission: 'certificate.issue', menu: { group: 'admin', order: 16, icon: 'DocumentChecked' } },
  },
  {
    path: '/admin/affairs',
    name: 'admin-affairs',
    component: withAdminMessages(() => import('@/views/admin/affairs/DepartmentAffairs.vue')),
    meta: { title: 'adminMenu.affairs', permission: 'affair.read', menu: { group: 'admin', order: 18, icon: 'FolderOpened' } },
  },
  {
    path: '/admin/affairs/archives',
    name: 'admin-archives',
    component: withAdminMessages(() => import('@/views/admin/affairs/ArchiveList.vue')),
    meta: { title: 'adminMenu.affairs', permission: 'affair.read' },
  },
  {
    path: '/admin/hall',
    name: 'admin-hall',
    component: withAdminMessages(() => import('@/views/admin/hall/HallSettings.vue')),
    meta: { title: 'adminMenu.hall', permission: 'settings.manage', menu: { group: 'admin', order: 40, icon: 'House' } },
  },
]
export default routes
