import { errorMessage } from '@/api'
import { i18n } from '@/locales'

// Element Plus's message and message box are loaded when first used, so that no page pays for
// them up front.
const message = () =>
  Promise.all([
    import('element-plus/es/components/message/index.mjs'),
    import('element-plus/es/components/message/style/css.mjs'),
  ]).then(([m]) => m.ElMessage)
const messageBox = () =>
  Promise.all([
    import('element-plus/es/components/message-box/index.mjs'),
    import('element-plus/es/components/message-box/style/css.mjs'),
  ]).then(([m]) => m.ElMessageBox)

/** A short message at the top of the page (announced to screen readers by Element Plus). */
export function toast(type: 'success' | 'warning' | 'error' | 'info', text: string) {
  void message().then((m) => m({ type, message: text, grouping: true, showClose: type === 'error' }))
}

/** Show any error thrown by an API call with the server's message. */
export function toastError(e: unknown) {
  toast('error', errorMessage(e))
}

/** Ask before doing something; resolves true when confirmed. */
export async function confirmAction(text: string, title?: string): Promise<boolean> {
  const t = i18n.global.t
  const box = await messageBox()
  try {
    await box.confirm(text, title ?? t('common.confirm'), {
      confirmButtonText: t('common.confirm'),
      cancelButtonText: t('common.cancel'),
      type: 'warning',
    })
    return true
  } catch {
    return false
  }
}
