import { i18n } from '.'

import menu from './designer.menu'

/**
 * The process pages' and requirement plans' messages (designer.zh-CN.ts, designer.en.ts) are
 * loaded with those pages, not with the app: applicants never pay for them. Only the menu titles
 * (designer.menu.ts) are in the app's messages. The route modules load these before the page.
 */
let loading: Promise<void> | null = null
export function loadDesignerMessages(): Promise<void> {
  loading ??= Promise.all([import('./designer.zh-CN'), import('./designer.en')])
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

/** A lazy route component that also needs the designer's messages. */
export function withDesignerMessages<T>(view: () => Promise<T>): () => Promise<T> {
  return () => Promise.all([view(), loadDesignerMessages()]).then(([v]) => v)
}

export { menu as designerMenu }
