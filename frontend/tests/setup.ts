import { config } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach } from 'vitest'

import { i18n, setLocale } from '@/locales'

// Every component test gets the app's i18n (Chinese first) and a fresh store.
config.global.plugins = [i18n]
beforeEach(() => {
  localStorage.clear()
  sessionStorage.clear()
  setLocale('zh-CN')
  const pinia = createPinia()
  setActivePinia(pinia)
  config.global.plugins = [i18n, pinia]
})

// happy-dom has no matchMedia by default in every version.
if (!window.matchMedia) {
  Object.defineProperty(window, 'matchMedia', {
    value: (query: string) => ({
      matches: false,
      media: query,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    }),
  })
}
