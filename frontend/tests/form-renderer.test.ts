import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import { defineComponent, h, ref } from 'vue'

import FormRenderer from '@/components/form/FormRenderer.vue'
import type { FieldAccess, FormDefinition, FormValues } from '@/components/form/types'
import { idCardValid, validateForm } from '@/components/form/validate'
import { submissionData, visibleFields } from '@/components/form/values'
import { setLocale } from '@/locales'

import { enrolmentForm } from './fixtures'

/** Mount the renderer with v-model wired like a page does. */
async function mountForm(definition: FormDefinition, initial: FormValues = {}, extra: Record<string, unknown> = {}) {
  const model = ref<FormValues>({ ...initial })
  const renderer = ref<{ validate(): Promise<boolean>; patch(): FormValues; data(): FormValues } | null>(null)
  const wrapper = mount(
    defineComponent({
      setup: () => () =>
        h(FormRenderer, {
          ref: renderer,
          definition,
          modelValue: model.value,
          'onUpdate:modelValue': (v: FormValues) => (model.value = v),
          ...extra,
        }),
    }),
    { attachTo: document.body },
  )
  // Element Plus gives controls their ids once mounted.
  await flushPromises()
  return { wrapper, model, renderer }
}

describe('form conditions (visible_if) as the engine evaluates them', () => {
  it('shows 具体用途 only when 其他 is chosen, and drops it from the data when hidden', () => {
    expect(visibleFields(enrolmentForm, {}).has('purpose_detail')).toBe(false)
    expect(visibleFields(enrolmentForm, { purpose: 'other' }).has('purpose_detail')).toBe(true)
    const data = submissionData(enrolmentForm, { purpose: 'visa', purpose_detail: 'left over', copies: 2, language: 'zh' })
    expect(data).toEqual({ purpose: 'visa', copies: 2, language: 'zh' })
  })

  it('sees only the visible fields above, so hiding cascades', () => {
    const def: FormDefinition = {
      fields: [
        { key: 'a', label: 'A', kind: { type: 'radio', options: [{ value: 'yes', label: '是' }, { value: 'no', label: '否' }] } },
        { key: 'b', label: 'B', kind: { type: 'text' }, visible_if: "form.a == 'yes'" },
        { key: 'c', label: 'C', kind: { type: 'text' }, visible_if: 'has(form.b)' },
        { key: 'd', label: 'D', kind: { type: 'number' } },
        { key: 'e', label: 'E', kind: { type: 'text' }, visible_if: 'form.d > 3' },
      ],
    }
    expect([...visibleFields(def, { a: 'yes', b: 'x' })]).toEqual(['a', 'b', 'c', 'd'])
    // b is hidden, so its stale value does not make c visible.
    expect([...visibleFields(def, { a: 'no', b: 'x' })]).toEqual(['a', 'd'])
    // Integers compare as CEL ints; an unevaluable condition (d missing) counts as false.
    expect(visibleFields(def, { d: 5 }).has('e')).toBe(true)
    expect(visibleFields(def, {}).has('e')).toBe(false)
  })

  it('reads applicant attributes', () => {
    const def: FormDefinition = {
      fields: [{ key: 'x', label: 'X', kind: { type: 'text' }, visible_if: "applicant.kind == 'student'" }],
    }
    expect(visibleFields(def, {}, { kind: 'student' }).has('x')).toBe(true)
    expect(visibleFields(def, {}, { kind: 'staff' }).has('x')).toBe(false)
  })
})

describe('client validation mirrors the engine', () => {
  it('requires visible required fields only and checks ranges and integers', () => {
    const errors = validateForm(enrolmentForm, { purpose: 'visa', copies: 7.5 }, { locale: 'zh-CN' })
    expect(Object.keys(errors).sort()).toEqual(['copies', 'language'])
    expect(errors.copies).toContain('整数')
    expect(validateForm(enrolmentForm, { purpose: 'visa', copies: 9, language: 'zh' }, { locale: 'zh-CN' }).copies).toContain('5')
    expect(validateForm(enrolmentForm, { purpose: 'other', copies: 1, language: 'zh' }, { locale: 'zh-CN' })).toHaveProperty('purpose_detail')
  })

  it('checks patterns, money, dates, ranges and table rows', () => {
    const def: FormDefinition = {
      fields: [
        { key: 'phone', label: '手机', kind: { type: 'text', pattern: 'phone_cn' } },
        { key: 'amount', label: '金额', kind: { type: 'money', max: '5000' } },
        { key: 'days', label: '日期', kind: { type: 'date_range', max_days: 3 } },
        { key: 'items', label: '明细', kind: { type: 'table', min_rows: 1, columns: [{ key: 'what', label: '项目', kind: { type: 'text' }, required: true }] } },
      ],
    }
    const errors = validateForm(
      def,
      { phone: '12345', amount: '5000.001', days: { start: '2026-12-01', end: '2026-12-05' }, items: [{ what: '' }] },
      { locale: 'zh-CN' },
    )
    expect(Object.keys(errors).sort()).toEqual(['amount', 'days', 'items[0].what', 'phone'])
    expect(validateForm(def, { phone: '13812345678', amount: '4999.5', days: { start: '2026-12-01', end: '2026-12-03' }, items: [{ what: '书' }] }, { locale: 'zh-CN' })).toEqual({})
    // Limits apply to values that are present; only `required` makes an empty table an error.
    expect(validateForm(def, { items: [] }, { locale: 'zh-CN' })).toEqual({})
    const required = { fields: def.fields.map((f) => (f.key === 'items' ? { ...f, required: true } : f)) }
    expect(validateForm(required, { items: [] }, { locale: 'zh-CN' })).toHaveProperty('items')
  })

  it('validates resident ID numbers with their check character', () => {
    expect(idCardValid('11010519491231002X')).toBe(true)
    expect(idCardValid('110105194912310021')).toBe(false)
    expect(idCardValid('110105194902300022')).toBe(false) // 30 February
  })

  it('requires a field that the node marks required before approving', () => {
    const def: FormDefinition = { fields: [{ key: 'opinion_no', label: '文号', kind: { type: 'text' } }] }
    const access = (): FieldAccess => 'required'
    expect(validateForm(def, {}, { locale: 'zh-CN', access })).toHaveProperty('opinion_no')
    expect(validateForm(def, {}, { locale: 'zh-CN', access: () => 'read_only' })).toEqual({})
  })
})

describe('FormRenderer', () => {
  it('renders labelled controls, reveals conditional fields and reports errors at their fields', async () => {
    const { wrapper, model, renderer } = await mountForm(enrolmentForm)
    expect(wrapper.find('[data-field="purpose_detail"]').exists()).toBe(false)
    // Every editable control is reachable from its label.
    const label = wrapper.find('label[for="f-copies"]')
    expect(label.text()).toContain('纸质份数')
    expect(wrapper.find('#f-copies').exists()).toBe(true)

    expect(await renderer.value!.validate()).toBe(false)
    await flushPromises()
    expect(wrapper.find('[data-testid="error-purpose"]').text()).toContain('证明用途')
    expect(wrapper.find('[data-testid="error-copies"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="error-supporting_documents"]').exists()).toBe(false)
    expect(wrapper.find('#f-copies').attributes('aria-invalid')).toBe('true')

    model.value = { ...model.value, purpose: 'other' }
    await flushPromises()
    expect(wrapper.find('[data-field="purpose_detail"]').exists()).toBe(true)
    expect(wrapper.find('#f-purpose_detail-help').text()).toContain('具体用途')
    wrapper.unmount()
  })

  it('shows the server’s field errors and clears one when its field changes', async () => {
    const { wrapper, model } = await mountForm(enrolmentForm, { purpose: 'visa', copies: 2, language: 'zh' }, { errors: { copies: '份数超出限制' } })
    expect(wrapper.find('[data-testid="error-copies"]').text()).toBe('份数超出限制')
    expect(wrapper.find('#f-purpose_detail').exists()).toBe(false)
    const input = wrapper.find('[data-field="language"] input[value="en"]')
    await input.setValue(true)
    await flushPromises()
    expect(model.value.language).toBe('en')
    expect(wrapper.find('[data-testid="error-copies"]').exists()).toBe(true)
    wrapper.unmount()
  })

  it('honours per-node access: read-only shows the value, hidden shows nothing, patch holds editable fields only', async () => {
    const { wrapper, renderer } = await mountForm(
      enrolmentForm,
      { purpose: 'visa', copies: 2, language: 'en' },
      { access: { purpose: 'read_only', copies: 'editable', language: 'hidden' }, defaultAccess: 'read_only' },
    )
    expect(wrapper.find('[data-testid="value-purpose"]').text()).toBe('出国/签证')
    expect(wrapper.find('[data-field="language"]').exists()).toBe(false)
    expect(wrapper.find('#f-copies').exists()).toBe(true)
    expect(wrapper.find('#f-purpose').exists()).toBe(false)
    expect(renderer.value!.patch()).toEqual({ copies: 2 })
    wrapper.unmount()
  })

  it('labels fields in English when the UI is English', async () => {
    setLocale('en')
    const { wrapper } = await mountForm(enrolmentForm)
    await flushPromises()
    expect(wrapper.find('label[for="f-purpose"]').text()).toContain('Purpose')
    wrapper.unmount()
  })
})
