import { i18n } from '@/locales'

const pad = (n: number) => String(n).padStart(2, '0')

/** `2026-12-02 10:30` in the browser's time zone. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

export function formatDate(iso: string | null | undefined): string {
  return formatTime(iso).slice(0, 10)
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

/** A status, action or kind translated when the UI knows it, else as the server sent it. */
export function label(group: 'status' | 'history' | 'action' | 'audience' | 'flow', key: string | null | undefined): string {
  if (!key) return ''
  const k = `${group}.${key}`
  return i18n.global.te(k) ? i18n.global.t(k) : key
}

export type TagType = 'primary' | 'success' | 'warning' | 'danger' | 'info'
export function statusTagType(status: string): TagType {
  switch (status) {
    case 'completed':
    case 'valid':
    case 'done':
    case 'active':
      return 'success'
    case 'returned':
    case 'expired':
    case 'scheduled':
      return 'warning'
    case 'rejected':
    case 'revoked':
      return 'danger'
    case 'withdrawn':
    case 'cancelled':
    case 'superseded':
    case 'ended':
    case 'draft':
      return 'info'
    default:
      return 'primary'
  }
}
