import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'

import { apiLanguage } from '@/api/client'
import LanguageSwitch from '@/components/common/LanguageSwitch.vue'
import { currentLocale, i18n } from '@/locales'
import en from '@/locales/en'
import zhCN from '@/locales/zh-CN'

function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (typeof v === 'object' && v ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`]))
}

describe('languages', () => {
  it('has every Chinese message in English too', () => {
    expect(keys(en).sort()).toEqual(keys(zhCN).sort())
  })

  it('starts in Chinese and switches to English, persisted, with the API language following', async () => {
    expect(currentLocale()).toBe('zh-CN')
    const w = mount(LanguageSwitch)
    expect(w.text()).toBe('English')
    await w.find('button').trigger('click')
    expect(currentLocale()).toBe('en')
    expect(i18n.global.t('auth.login')).toBe('Sign in')
    expect(localStorage.getItem('tongban.locale')).toBe('en')
    expect(document.documentElement.lang).toBe('en')
    expect(apiLanguage()).toBe('en')
    expect(w.text()).toBe('简体中文')
    await w.find('button').trigger('click')
    expect(apiLanguage()).toBe('zh-CN')
  })
})
