import { i18n } from '.'

/**
 * The messages of the department administrators' pages, the IT office's organisation pages and
 * the supervision dashboards (admin.zh-CN.ts, admin.en.ts) load with those pages, never with the
 * applicant's. Only their menu titles (admin.menu.ts) are in the app's messages. The route
 * modules load these before the page.
 */
let loading: Promise<void> | null = null
export function loadAdminMessages(): Promise<void> {
  loading ??= Promise.all([import('./admin.zh-CN'), import('./admin.en')])
    .then(([zh, en]) => {
      i18n.global.mergeLocaleMessage('zh-CN', zh.default)
      i18n.global.mergeLocaleMessage('en', en.default)
    })
    .catch((e: unknown) => {
      loading = null
      throw e
    })
  return loading
}

/** A lazy route component that also needs the admin pages' messages. */
export function withAdminMessages<T>(view: () => Promise<T>): () => Promise<T> {
  return () => Promise.all([view(), loadAdminMessages()]).then(([v]) => v)
}
