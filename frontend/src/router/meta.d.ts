import 'vue-router'

import type { Permission } from '@/store/auth'

declare module 'vue-router' {
  interface RouteMeta {
    /** i18n key of the page title (document title, phone nav bar, menu). */
    title?: string
    /** Shown without signing in. Routes are signed-in only by default. */
    public?: boolean
    /** Needs one of these permissions (from `GET /me`). */
    permission?: Permission | Permission[]
    /** `blank`: no layout (sign-in page). */
    layout?: 'blank'
    /** Put it in the menus: its group, order in the group, icon (Element Plus icon name). */
    menu?: { group: MenuGroup; order: number; icon?: string; mobileTab?: boolean }
    /** A phone tab-bar root: no back arrow in the nav bar. */
    tabRoot?: boolean
  }
}

export type MenuGroup = 'hall' | 'work' | 'admin'
