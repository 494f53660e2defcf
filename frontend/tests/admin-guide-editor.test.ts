// The guide editor: its checks (drafts and what publishing needs, as the server checks them), the
// server's field errors shown at their fields, saving the draft with the version read, and version
// conflicts — someone else saved first: their version is read and kept until the editor takes it
// or saves over it with its version number.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { reactive } from 'vue'

import { editable, emptyContent, toRequest } from '@/components/admin/guide/content'
import { diffContent } from '@/components/admin/guide/diff'
import GuideContentForm from '@/components/admin/guide/GuideContentForm.vue'
import { useGuideDraft } from '@/components/admin/guide/useGuideDraft'
import { validateGuide } from '@/components/admin/guide/validate'
import { loadAdminMessages } from '@/locales/admin'

import { GUIDE_ID, fakeApi, guideView, problem } from './admin-fixtures'
import { jsonResponse } from './fixtures'

beforeAll(() => loadAdminMessages())
afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

const versions = (n: number) => jsonResponse(200, Array.from({ length: n }, (_, i) => ({ number: n - i, status: i ? 'superseded' : 'published', created_by: GUIDE_ID, created_at: '2026-12-01T00:00:00Z' })))

describe('guide checks', () => {
  it('lets a draft be incomplete but not beyond the limits', () => {
    const c = emptyContent('测试')
    expect(validateGuide(c, 'save')).toEqual({})
    c.name = ' '
    c.time_limit_days = 400
    c.materials.push({ name: '', required: true, form: 'copy', copies: 120, note: '', sample_file_id: null })
    c.faq.push({ question: '问题', answer: '' })
    c.sample_files.push({ file_id: '', title: 'x'.repeat(201) })
    c.contact.email = 'not-an-email'
    expect(validateGuide(c, 'save')).toEqual({
      name: '请填写此项',
      time_limit_days: '办理时限须为 0–365 之间的整数',
      'materials[0].name': '请填写此项',
      'materials[0].copies': '份数须为 0–99 之间的整数',
      'faq[0].answer': '请填写此项',
      'sample_files[0].title': '不能超过 200 个字',
      'sample_files[0].file_id': '请选择文件',
      'contact.email': '电子邮箱格式不正确',
    })
  })

  it('asks before publishing for what the hall needs, as POST /guides/{id}/publish does', () => {
    const c = emptyContent('测试')
    c.fee.free = false
    expect(validateGuide(c, 'publish')).toEqual({
      conditions: '发布前须填写办理条件',
      contact: '发布前须填写咨询电话或办理地点',
      'fee.standard': '收费事项须写明收费标准',
      offline_steps: '不在线办理的事项须写明线下办理流程或地点',
    })
    // A location answers both the contact and the counter.
    c.conditions = '在校学生'
    c.contact.location = '行政楼 203'
    c.fee.standard = '每份 5 元'
    expect(validateGuide(c, 'publish')).toEqual({})
  })

  it('sends trimmed texts, drops blank counter steps and empty optional names', () => {
    const c = editable(guideView().content)
    c.name = '  在读证明开具  '
    c.name_en = '  '
    c.offline_steps = ['到窗口领取', '  ']
    const r = toRequest(c)
    expect(r.name).toBe('在读证明开具')
    expect(r.name_en).toBeNull()
    expect(r.offline_steps).toEqual(['到窗口领取'])
  })

  it('tells part by part what changed between two versions', () => {
    const a = guideView().content
    const b = { ...a, time_limit_days: 2, faq: [...(a.faq ?? []), { question: '可以代办吗？', answer: '可以。' }] }
    const d = diffContent(a, b)
    expect(d.map((x) => x.key)).toEqual(['time_limit_days', 'faq'])
    expect(d[0]!.lines).toEqual([
      { op: 'del', text: '3' },
      { op: 'add', text: '2' },
    ])
    expect(d[1]!.lines.filter((l) => l.op === 'add').map((l) => l.text)).toEqual(['问: 可以代办吗？', '答: 可以。'])
  })
})

describe('the guide form', () => {
  it('shows each error at its field, connected for screen readers', async () => {
    const w = mount(GuideContentForm, {
      props: {
        modelValue: editable(guideView().content),
        guideId: GUIDE_ID,
        errors: { 'materials[0].name': '长度须在 1 到 200 之间', conditions: '请填写办理条件' },
        categories: [],
        processes: [],
        files: [],
      },
      attachTo: document.body,
    })
    await flushPromises()
    const input = w.find('#g-materials-0-name')
    expect(input.attributes('aria-invalid')).toBe('true')
    expect(input.attributes('aria-describedby')).toBe('g-materials-0-name-error')
    expect(w.find('#g-materials-0-name-error').text()).toBe('长度须在 1 到 200 之间')
    expect(w.find('#g-conditions-error').text()).toBe('请填写办理条件')
    w.unmount()
  })

  it('adds, reorders and removes materials and FAQ entries', async () => {
    const content = reactive(editable(guideView().content))
    const w = mount(GuideContentForm, {
      props: { modelValue: content, guideId: GUIDE_ID, errors: {}, categories: [], processes: [], files: [] },
      attachTo: document.body,
    })
    await w.find('[data-testid="add-material"]').trigger('click')
    await flushPromises()
    expect(content.materials.map((m) => m.name)).toEqual(['学生证', ''])
    await w.find('#g-materials-1-name').setValue('身份证复印件')
    // Move the new one up.
    await w.findAll('[data-material="1"] .gform__item-head button')[0]!.trigger('click')
    expect(content.materials.map((m) => m.name)).toEqual(['身份证复印件', '学生证'])
    await w.find('[data-testid="add-faq"]').trigger('click')
    expect(content.faq).toHaveLength(2)
    w.unmount()
  })
})

describe('saving a draft', () => {
  it('sends nothing while the editor finds errors', async () => {
    const api = fakeApi({ 'GET /api/v1/guides/*/versions': () => versions(1), 'GET /api/v1/guides/*': () => jsonResponse(200, guideView()) })
    const d = useGuideDraft(() => GUIDE_ID)
    await d.load()
    d.content.value.name = ''
    expect(await d.save()).toBe('invalid')
    expect(d.errors.value.name).toBe('请填写此项')
    expect(api.calls.filter((c) => c.method === 'PUT')).toHaveLength(0)
  })

  it('saves with the version read and keeps the new one', async () => {
    const api = fakeApi({
      'GET /api/v1/guides/*/versions': () => versions(1),
      'GET /api/v1/guides/*': () => jsonResponse(200, guideView()),
      'PUT /api/v1/guides/*': (c) =>
        jsonResponse(200, guideView({ version: 2, latest_version: 2, shown_version: 2, shown_status: 'draft' }, (c.body as { content: object }).content)),
    })
    const d = useGuideDraft(() => GUIDE_ID)
    await d.load()
    expect(api.calls[1]!.query.get('version')).toBe('1')
    d.content.value.time_limit_days = 2
    expect(d.dirty.value).toBe(true)
    expect(await d.save()).toBe('saved')
    const put = api.calls.find((c) => c.method === 'PUT')!
    expect(put.body).toMatchObject({ version: 1, content: { time_limit_days: 2, name: '在读证明开具' } })
    expect(d.guide.value?.version).toBe(2)
    expect(d.dirty.value).toBe(false)
  })

  it('shows the server’s field errors at the fields, without the content prefix', async () => {
    fakeApi({
      'GET /api/v1/guides/*/versions': () => versions(1),
      'GET /api/v1/guides/*': () => jsonResponse(200, guideView()),
      'PUT /api/v1/guides/*': () => problem(400, 'validation_failed', undefined, [{ field: 'content.materials[0].note', code: 'control_characters', message: '含有控制字符' }]),
    })
    const d = useGuideDraft(() => GUIDE_ID)
    await d.load()
    d.content.value.summary = '改一下'
    expect(await d.save()).toBe('invalid')
    expect(d.errors.value).toEqual({ 'materials[0].note': '含有控制字符' })
  })

  it('on a stale version reads theirs and lets the editor save over it with their version', async () => {
    let theirs = false
    const api = fakeApi({
      'GET /api/v1/guides/*/versions': () => versions(theirs ? 2 : 1),
      'GET /api/v1/guides/*': (c) =>
        jsonResponse(
          200,
          c.query.get('version') === '2'
            ? guideView({ version: 3, latest_version: 2, shown_version: 2, shown_status: 'draft', updated_at: '2026-12-02T05:00:00Z' }, { conditions: '他人改过的办理条件' })
            : guideView(),
        ),
      'PUT /api/v1/guides/*': (c) => {
        if ((c.body as { version: number }).version !== 3) {
          theirs = true
          return problem(409, 'version_conflict', '数据已被他人修改，请刷新后重试')
        }
        return jsonResponse(200, guideView({ version: 4, latest_version: 2, shown_version: 2, shown_status: 'draft' }, (c.body as { content: object }).content))
      },
    })
    const d = useGuideDraft(() => GUIDE_ID)
    await d.load()
    d.content.value.time_limit_days = 5
    expect(await d.save()).toBe('conflict')
    expect(d.conflict.value?.theirs.version).toBe(3)
    expect(d.conflict.value?.theirs.content.conditions).toBe('他人改过的办理条件')
    // The differences the editor is shown: their conditions against mine, and my time limit.
    expect(diffContent(d.conflict.value!.theirs.content, d.content.value).map((x) => x.key)).toEqual(['conditions', 'time_limit_days'])

    expect(await d.resolve('mine')).toBe('saved')
    const puts = api.calls.filter((c) => c.method === 'PUT')
    expect(puts.map((c) => (c.body as { version: number }).version)).toEqual([1, 3])
    expect((puts[1]!.body as { content: { time_limit_days: number; conditions: string } }).content).toMatchObject({
      time_limit_days: 5,
      conditions: '具有我院正式学籍的在读学生',
    })
    expect(d.conflict.value).toBeNull()
    expect(d.guide.value?.version).toBe(4)
  })

  it('takes their version when the editor chooses it, dropping its changes', async () => {
    fakeApi({
      'GET /api/v1/guides/*/versions': () => versions(2),
      'GET /api/v1/guides/*': () => jsonResponse(200, guideView({ version: 3 }, { conditions: '他人的版本' })),
      'PUT /api/v1/guides/*': () => problem(409, 'version_conflict'),
    })
    const d = useGuideDraft(() => GUIDE_ID)
    await d.load()
    d.guide.value = { ...d.guide.value!, version: 2 }
    d.content.value.conditions = '我的版本'
    expect(await d.save()).toBe('conflict')
    await d.resolve('theirs')
    expect(d.content.value.conditions).toBe('他人的版本')
    expect(d.guide.value?.version).toBe(3)
    expect(d.dirty.value).toBe(false)
  })

  it('publishes after saving, and shows what the server finds incomplete', async () => {
    const api = fakeApi({
      'GET /api/v1/guides/*/versions': () => versions(1),
      'GET /api/v1/guides/*': () => jsonResponse(200, guideView({ status: 'draft', published_version: null, shown_status: 'draft' })),
      'PUT /api/v1/guides/*': (c) => jsonResponse(200, guideView({ version: 2, status: 'draft', shown_status: 'draft' }, (c.body as { content: object }).content)),
      'POST /api/v1/guides/*/publish': () =>
        problem(422, 'rule_violation', '指南内容不完整，不能发布', [{ field: 'content.contact', code: 'required', message: '请填写咨询电话或办理地点' }]),
    })
    const d = useGuideDraft(() => GUIDE_ID)
    await d.load()
    d.content.value.summary = '新的简介'
    expect(await d.publish()).toBe('invalid')
    expect(api.calls.map((c) => `${c.method} ${c.path.replace(GUIDE_ID, '{id}')}`)).toEqual([
      'GET /api/v1/guides/{id}/versions',
      'GET /api/v1/guides/{id}',
      'PUT /api/v1/guides/{id}',
      'POST /api/v1/guides/{id}/publish',
    ])
    expect(api.calls[3]!.body).toEqual({ version: 2 })
    expect(d.errors.value).toEqual({ contact: '请填写咨询电话或办理地点' })
  })
})
