import type { RouteRecordRaw } from 'vue-router'

import type { MenuGroup } from './meta'
import { moduleRoutes } from './routes'

export interface MenuItem {
  name: string
  path: string
  title: string
  icon?: string
  order: number
  mobileTab: boolean
}

export const GROUP_ORDER: MenuGroup[] = ['hall', 'work', 'admin']
export const GROUP_TITLES: Record<MenuGroup, string> = {
  hall: 'menu.groupHall',
  work: 'menu.groupWork',
  admin: 'menu.groupAdmin',
}

function flatten(routes: RouteRecordRaw[], base = ''): RouteRecordRaw[] {
  return routes.flatMap((r) => {
    const path = r.path.startsWith('/') ? r.path : `${base}/${r.path}`
    return [{ ...r, path }, ...flatten(r.children ?? [], path)]
  })
}

/**
 * The menu, from the routes' `meta.menu`, grouped and ordered, keeping what `allowed` lets the
 * user open (signed-in only routes need a sign-in; `meta.permission` one of the permissions).
 */
export function buildMenu(allowed: (r: RouteRecordRaw) => boolean): { group: MenuGroup; items: MenuItem[] }[] {
  const items = flatten(moduleRoutes).filter((r) => r.meta?.menu && typeof r.name === 'string' && allowed(r))
  return GROUP_ORDER.map((group) => ({
    group,
    items: items
      .filter((r) => r.meta?.menu?.group === group)
      .map((r) => ({
        name: r.name as string,
        path: r.path,
        title: r.meta?.title ?? String(r.name),
        icon: r.meta?.menu?.icon,
        order: r.meta?.menu?.order ?? 0,
        mobileTab: r.meta?.menu?.mobileTab ?? false,
      }))
      .sort((a, b) => a.order - b.order),
  })).filter((g) => g.items.length > 0)
}
