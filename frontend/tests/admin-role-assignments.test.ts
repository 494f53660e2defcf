// Role assignments on the user page: each role with a data scope (own, a department and below,
// the supervised departments, the whole college) and, for department scope, an anchor department
// (the user's own by default); what is sent, and what is refused before sending.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ref } from 'vue'

import type { Schema } from '@/api'
import RoleAssignmentEditor from '@/components/admin/RoleAssignmentEditor.vue'
import { checkAssignments, normalize, sameAssignments, type Assignment } from '@/components/admin/roleAssignments'
import { loadAdminMessages } from '@/locales/admin'

beforeAll(() => loadAdminMessages())
afterEach(() => {
  document.body.innerHTML = ''
})

const uuid = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`
const HANDLER = uuid(1)
const ADMIN = uuid(2)
const XGC = uuid(10)
const JWC = uuid(11)
const role = (id: string, code: string, name: string, permissions: Schema<'Permission'>[]): Schema<'RoleView'> => ({
  id,
  code,
  name,
  description: '',
  builtin: true,
  permissions,
  version: 1,
})
const roles = [role(HANDLER, 'handler', '经办人', ['task.handle', 'org.read']), role(ADMIN, 'dept_admin', '部门管理员', ['guide.manage', 'stats.read'])]
const departments: Schema<'DepartmentView'>[] = [
  { id: uuid(9), parent_id: null, code: 'school', name: '学院', kind: 'school', sort_order: 0, active: true, version: 1, created_at: '', updated_at: '' },
  { id: XGC, parent_id: uuid(9), code: 'xgc', name: '学生工作处', kind: 'office', sort_order: 1, active: true, version: 1, created_at: '', updated_at: '' },
  { id: JWC, parent_id: uuid(9), code: 'jwc', name: '教务处', kind: 'office', sort_order: 2, active: true, version: 1, created_at: '', updated_at: '' },
]

describe('checking role assignments', () => {
  it('needs a role in every row and no row twice (the default anchor counts as the user’s own)', () => {
    const list: Assignment[] = [
      { role_id: HANDLER, scope: 'department', department_id: null },
      { role_id: HANDLER, scope: 'department', department_id: XGC },
      { role_id: '', scope: 'own' },
      { role_id: ADMIN, scope: 'department', department_id: JWC },
    ]
    const c = checkAssignments(list, { userDepartmentId: XGC, supervises: 0, roles })
    expect(c.errors).toEqual({ 1: '与第 1 行重复', 2: '请选择角色' })
    expect(c.notes[0]).toBe('未选部门时按本人部门')
  })

  it('needs an anchor for department scope when the user has no department', () => {
    const c = checkAssignments([{ role_id: HANDLER, scope: 'department', department_id: null }], { userDepartmentId: null, supervises: 0, roles })
    expect(c.errors[0]).toBe('该用户没有所属部门，请选择部门')
  })

  it('warns that supervised scope reaches nothing without a 分管 position, and says what all reaches', () => {
    const list: Assignment[] = [
      { role_id: ADMIN, scope: 'supervised' },
      { role_id: HANDLER, scope: 'all' },
    ]
    expect(checkAssignments(list, { supervises: 0, roles }).notes).toEqual({ 0: '该用户没有分管院领导职务，此范围暂不覆盖任何部门', 1: '全校范围：覆盖所有部门的数据' })
    expect(checkAssignments(list, { supervises: 2, roles }).notes[0]).toBeUndefined()
    expect(checkAssignments(list, { supervises: 2, roles }).errors).toEqual({})
  })

  it('sends an anchor only with department scope', () => {
    expect(
      normalize([
        { role_id: HANDLER, scope: 'supervised', department_id: XGC },
        { role_id: ADMIN, scope: 'department', department_id: JWC },
        { role_id: ADMIN, scope: 'own', department_id: JWC },
      ]),
    ).toEqual([
      { role_id: HANDLER, scope: 'supervised', department_id: null },
      { role_id: ADMIN, scope: 'department', department_id: JWC },
      { role_id: ADMIN, scope: 'own', department_id: null },
    ])
    expect(sameAssignments([{ role_id: HANDLER, scope: 'all', department_id: XGC }], [{ role_id: HANDLER, scope: 'all' }])).toBe(true)
  })
})

describe('the role assignment editor', () => {
  async function editor(initial: Assignment[], supervised: string[] = []) {
    const rows = ref<Assignment[]>(initial)
    const w = mount(RoleAssignmentEditor, {
      props: {
        modelValue: rows.value,
        'onUpdate:modelValue': (v: Assignment[]) => {
          rows.value = v
          void w.setProps({ modelValue: v })
        },
        roles,
        departments,
        userDepartmentId: XGC,
        supervised,
      },
      attachTo: document.body,
    })
    await flushPromises()
    return { w, rows }
  }

  it('asks for an anchor department only with department scope, and clears it when the scope changes', async () => {
    const { w, rows } = await editor([{ role_id: ADMIN, scope: 'department', department_id: JWC }], [XGC])
    expect(w.find('#ra-dept-0').exists()).toBe(true)
    // Choose 分管部门: the anchor goes, and the departments the user supervises are listed instead.
    const supervised = w.find('[data-row="0"] [data-scope="supervised"] input')
    await supervised.setValue(true)
    await flushPromises()
    expect(rows.value).toEqual([{ role_id: ADMIN, scope: 'supervised', department_id: null }])
    expect(w.find('#ra-dept-0').exists()).toBe(false)
    expect(w.find('.ra__reach').text()).toContain('学生工作处')
    w.unmount()
  })

  it('adds and removes rows and shows each row’s problem', async () => {
    const { w, rows } = await editor([{ role_id: HANDLER, scope: 'department', department_id: null }])
    await w.find('[data-testid="add-role"]').trigger('click')
    await flushPromises()
    expect(rows.value).toHaveLength(2)
    expect(w.find('[data-error="1"]').text()).toBe('请选择角色')
    expect(w.find('[data-row="0"]').text()).toContain('包含权限：task.handle、org.read')
    await w.findAll('[data-row="1"] button').at(-1)!.trigger('click')
    await flushPromises()
    expect(rows.value).toEqual([{ role_id: HANDLER, scope: 'department', department_id: null }])
    w.unmount()
  })
})
