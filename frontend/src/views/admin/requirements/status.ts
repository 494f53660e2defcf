import type { Schema } from '@/api'

export const PLAN_STATUSES: Schema<'PlanStatus'>[] = ['in_approval', 'building', 'trial', 'online', 'rejected', 'withdrawn']

export function planStatusType(s: string): 'primary' | 'success' | 'warning' | 'danger' | 'info' {
  switch (s) {
    case 'online':
      return 'success'
    case 'trial':
    case 'building':
      return 'warning'
    case 'rejected':
      return 'danger'
    case 'withdrawn':
      return 'info'
    default:
      return 'primary'
  }
}
