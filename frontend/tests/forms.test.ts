import { describe, expect, it } from 'vitest'

import type { Schema } from '@/api'
import { applicantAccess, formForAffair } from '@/api/forms'

import { enrolmentForm } from './fixtures'

describe('what the applicant and the handler may do with each field', () => {
  it('gives the applicant the start node’s fields and hides later steps’ fields', () => {
    const def = { fields: [...enrolmentForm.fields, { key: 'counsellor_opinion', label: '辅导员意见', kind: { type: 'textarea' as const } }] }
    const access = applicantAccess(def, { purpose: 'editable', copies: 'required', language: 'editable' })
    expect(access).toMatchObject({ purpose: 'editable', copies: 'editable', language: 'editable', counsellor_opinion: 'hidden' })
    expect(access.supporting_documents).toBe('hidden')
    // A start node that lists nothing leaves every field to the applicant.
    expect(Object.values(applicantAccess(def, {}))).toEqual(def.fields.map(() => 'editable'))
  })

  it('reads the handler’s access from the affair view, read-only where it says nothing', () => {
    const affair = { form_definition: enrolmentForm, field_access: { copies: 'required' } } as unknown as Schema<'AffairView'>
    const { access } = formForAffair(affair)
    expect(access.copies).toBe('required')
    expect(access.purpose).toBe('read_only')
  })
})
