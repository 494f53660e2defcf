import { createI18n } from 'vue-i18n'

import { setApiLanguage } from '@/api/client'
import { setNetworkMessage } from '@/api/problem'

import adminMenu from './admin.menu'
import designerMenu from './designer.menu'
import en from './en'
import zhCN from './zh-CN'

export type Locale = 'zh-CN' | 'en'
export const LOCALES: { value: Locale; label: string }[] = [
  { value: 'zh-CN', label: '简体中文' },
  { value: 'en', label: 'English' },
]
const KEY = 'tongban.locale'

function initial(): Locale {
  try {
    const saved = localStorage.getItem(KEY)
    if (saved === 'zh-CN' || saved === 'en') return saved
  } catch {
    // no storage: default
  }
  return 'zh-CN' // Chinese by default, whatever the browser says.
}

export const i18n = createI18n({
  legacy: false,
  locale: initial(),
  fallbackLocale: 'zh-CN',
  // The process pages, requirement plans and the admin pages (admin.ts) load their own messages
  // (designer.ts); only their menu titles are here.
  messages: {
    'zh-CN': { ...zhCN, ...designerMenu['zh-CN'], ...adminMenu['zh-CN'] },
    en: { ...en, ...designerMenu.en, ...adminMenu.en },
  },
  missingWarn: false,
  fallbackWarn: false,
})

/** Switch the UI language: messages, `<html lang>`, the API's `Accept-Language`; persisted. */
export function setLocale(locale: Locale) {
  i18n.global.locale.value = locale
  try {
    localStorage.setItem(KEY, locale)
  } catch {
    // not persisted
  }
  applyLocale()
}

export function currentLocale(): Locale {
  return i18n.global.locale.value
}

export function applyLocale() {
  const l = currentLocale()
  if (typeof document !== 'undefined') document.documentElement.lang = l
  setApiLanguage(l === 'en' ? 'en' : 'zh-CN')
  setNetworkMessage(i18n.global.t('common.networkError'))
}

/** A name in the UI language: the English one when there is one and English is on. */
export function localName(zh: string, en?: string | null): string {
  return currentLocale() === 'en' && en ? en : zh
}
