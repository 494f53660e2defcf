// The titles of the department administrators', the IT office's organisation and the supervision
// pages in menus and the document title: the only messages of admin.*.ts the app loads up front
// (the page messages load with the pages; a test checks these equal theirs).
export default {
  'zh-CN': {
    adminMenu: {
      dashboard: '督办统计',
      guides: '办事指南管理',
      consultation: '在线咨询答复',
      certificateTypes: '证照类型',
      certificates: '证照签发',
      affairs: '部门办件',
      hall: '大厅设置',
      departments: '组织机构',
      users: '用户管理',
      roles: '角色权限',
      positions: '职务任命',
      holidays: '节假日安排',
      audit: '审计日志',
      apiClients: 'API 客户端',
      webhooks: 'Webhook 订阅',
    },
  },
  en: {
    adminMenu: {
      dashboard: 'Supervision',
      guides: 'Service guides',
      consultation: 'Consultation',
      certificateTypes: 'Certificate types',
      certificates: 'Certificates issued',
      affairs: 'Department affairs',
      hall: 'Hall settings',
      departments: 'Departments',
      users: 'Users',
      roles: 'Roles',
      positions: 'Positions',
      holidays: 'Holiday calendar',
      audit: 'Audit trail',
      apiClients: 'API clients',
      webhooks: 'Webhooks',
    },
  },
}
