// The admin, organisation and dashboard pages' messages: English has every Chinese key, no text
// uses vue-i18n's syntax by accident (`|` separates plural forms, `@` links another message), every
// message compiles, and every key the pages name exists.
import { describe, expect, it } from 'vitest'

import { i18n } from '@/locales'
import { loadAdminMessages } from '@/locales/admin'
import en from '@/locales/admin.en'
import menu from '@/locales/admin.menu'
import zh from '@/locales/admin.zh-CN'

function leaves(o: object, prefix = ''): [string, string][] {
  return Object.entries(o).flatMap(([k, v]) => (typeof v === 'object' && v ? leaves(v as object, `${prefix}${k}.`) : [[`${prefix}${k}`, String(v)] as [string, string]]))
}
// The pages' sources as text (Vite reads them; the tests run without Node's types).
const SOURCES = import.meta.glob<string>(
  [
    '../src/components/admin/**/*.{vue,ts}',
    '../src/components/dashboard/**/*.{vue,ts}',
    '../src/views/admin/{affairs,audit,certificates,consultation,guides,hall,holidays,integrations,org}/**/*.{vue,ts}',
    '../src/views/dashboard/**/*.{vue,ts}',
    '../src/router/routes/modules/{admin,org,dashboard,integrations}.ts',
  ],
  { query: '?raw', import: 'default', eager: true },
)

describe('admin messages', () => {
  it('has every Chinese message in English too, and the menu titles in both', () => {
    expect(leaves(en).map(([k]) => k).sort()).toEqual(leaves(zh).map(([k]) => k).sort())
    expect(leaves(menu.en).map(([k]) => k)).toEqual(leaves(menu['zh-CN']).map(([k]) => k))
  })

  it('uses no plural or link syntax, and every message compiles', async () => {
    await loadAdminMessages()
    for (const [k, v] of [...leaves(zh), ...leaves(en), ...leaves(menu['zh-CN']), ...leaves(menu.en)]) {
      expect(v, k).not.toMatch(/[|@]/)
      expect(() => i18n.global.t(k), k).not.toThrow()
    }
    expect(i18n.global.t('guideAdmin.versions', { p: 1, l: 2 })).toBe('大厅 v1 · 最新 v2')
  })

  it('has every key the pages name (the app’s own messages or these)', async () => {
    await loadAdminMessages()
    const missing: string[] = []
    let checked = 0
    expect(Object.keys(SOURCES).length).toBeGreaterThan(40)
    for (const [f, src] of Object.entries(SOURCES)) {
      for (const [, key = ''] of src.matchAll(/\bt\('([a-zA-Z]+\.[a-zA-Z0-9_.]+)'/g)) {
        checked++
        if (!i18n.global.te(key, 'zh-CN') || !i18n.global.te(key, 'en')) missing.push(`${f}: ${key}`)
      }
      for (const [, key = ''] of src.matchAll(/title: '([a-zA-Z]+\.[a-zA-Z0-9_.]+)'/g)) {
        if (!i18n.global.te(key, 'zh-CN')) missing.push(`${f}: ${key}`)
      }
    }
    expect(missing).toEqual([])
    expect(checked).toBeGreaterThan(500)
  })
})
