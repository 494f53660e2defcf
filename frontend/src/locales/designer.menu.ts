// The titles of the process pages and requirement plans in menus and the document title: the
// only messages of designer.*.ts the app loads up front (the same texts as there; a test checks).
export default {
  'zh-CN': { processes: { menu: '流程管理' }, plans: { menu: '需求计划' }, designer: { title: '流程设计' } },
  en: { processes: { menu: 'Processes' }, plans: { menu: 'Requirement plans' }, designer: { title: 'Process designer' } },
}
