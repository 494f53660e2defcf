import type { InjectionKey, Ref } from 'vue'

import type { Schema } from '@/api'

export type Attachment = Pick<Schema<'AttachmentView'>, 'id' | 'filename' | 'size' | 'content_type'>
export type CertificateRef = { id: string; number: string; type_name: string; status: string }

/** What fields share inside one form: names of attachments and certificates it refers to. */
export interface FormContext {
  attachments: Ref<Map<string, Attachment>>
  certificates: Ref<Map<string, CertificateRef>>
}
export const FORM_CONTEXT: InjectionKey<FormContext> = Symbol('tongban.form')
