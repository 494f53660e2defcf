// The process pages' and requirement plans' messages: English has every Chinese key, the menu
// titles loaded up front are the pages' own, and no text uses vue-i18n's syntax by accident (`|`
// separates plural forms, `@` links another message).
import { describe, expect, it } from 'vitest'

import { i18n } from '@/locales'
import { loadDesignerMessages } from '@/locales/designer'
import en from '@/locales/designer.en'
import menu from '@/locales/designer.menu'
import zh from '@/locales/designer.zh-CN'

function leaves(o: object, prefix = ''): [string, string][] {
  return Object.entries(o).flatMap(([k, v]) => (typeof v === 'object' && v ? leaves(v as object, `${prefix}${k}.`) : [[`${prefix}${k}`, String(v)] as [string, string]]))
}

describe('designer messages', () => {
  it('has every Chinese message in English too', () => {
    expect(leaves(en).map(([k]) => k).sort()).toEqual(leaves(zh).map(([k]) => k).sort())
  })

  it('keeps the menu titles equal to the pages’ own', () => {
    const all = { 'zh-CN': Object.fromEntries(leaves(zh)), en: Object.fromEntries(leaves(en)) }
    for (const locale of ['zh-CN', 'en'] as const) {
      for (const [k, v] of leaves(menu[locale])) expect(all[locale][k], k).toBe(v)
    }
  })

  it('uses no plural or link syntax, and every message compiles', async () => {
    await loadDesignerMessages()
    for (const [k, v] of [...leaves(zh), ...leaves(en)]) {
      expect(v, k).not.toMatch(/[|@]/)
      expect(() => i18n.global.t(k), k).not.toThrow()
    }
    expect(i18n.global.t('designer.problemCount', { n: 3 })).toBe('3 个问题')
  })
})
