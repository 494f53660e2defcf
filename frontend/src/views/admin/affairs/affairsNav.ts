import { i18n } from '@/locales'

/** The links between the department's affairs and its archives. */
export function affairsNav() {
  const t = i18n.global.t
  return [
    { to: '/admin/affairs', label: t('deptAffairs.tabAffairs'), testid: 'nav-affairs' },
    { to: '/admin/affairs/archives', label: t('deptAffairs.tabArchives'), testid: 'nav-archives' },
  ]
}
