import { computed } from 'vue'

import type { ApplicantAttrs } from '@/components/form/types'
import { useAsync } from '@/composables/useAsync'
import { loadDepartments } from '@/composables/useDirectory'
import { useAuthStore } from '@/store/auth'

/** What `visible_if` conditions know about the applicant (as the server builds it). */
export function useApplicantAttrs(applicant?: () => { kind?: string; department_id?: string | null } | null) {
  const auth = useAuthStore()
  const departments = useAsync(loadDepartments)
  return computed<ApplicantAttrs>(() => {
    const u = applicant ? applicant() : auth.me?.user
    const code = departments.data.value?.find((d) => d.id === u?.department_id)?.code ?? null
    return { kind: u?.kind, department_id: u?.department_id ?? null, department_code: code }
  })
}
