import type { FormDefinition } from '@/components/form/types'

/** The demo 在读证明 form (backend/server/demo/processes/enrolment_certificate.json). */
export const enrolmentForm: FormDefinition = {
  fields: [
    {
      key: 'purpose',
      label: '证明用途',
      label_en: 'Purpose',
      kind: {
        type: 'select',
        options: [
          { value: 'visa', label: '出国/签证' },
          { value: 'internship', label: '实习' },
          { value: 'other', label: '其他' },
        ],
      },
      required: true,
    },
    {
      key: 'purpose_detail',
      label: '具体用途',
      kind: { type: 'text', max_len: 100 },
      required: true,
      help: '请写明证明的具体用途及提交单位',
      visible_if: "form.purpose == 'other'",
    },
    { key: 'copies', label: '纸质份数', kind: { type: 'number', min: 1, max: 5, integer: true }, required: true },
    {
      key: 'language',
      label: '证明语言',
      kind: { type: 'radio', options: [{ value: 'zh', label: '中文' }, { value: 'en', label: '英文' }] },
      required: true,
    },
    { key: 'supporting_documents', label: '证明材料（选填）', kind: { type: 'file', max_files: 3, max_size_mb: 10, accept: ['.pdf', 'image/*'] } },
  ],
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}) {
  const type = status >= 400 ? 'application/problem+json' : 'application/json'
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': type, ...headers } })
}
