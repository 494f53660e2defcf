import {
  Bell,
  Calendar,
  Document,
  EditPen,
  HomeFilled,
  Menu as MenuIcon,
  Notebook,
  Postcard,
  Search,
  Share,
  Stamp,
  Tickets,
} from '@element-plus/icons-vue'
import type { Component } from 'vue'

/** Menu icons by the name a route's `meta.menu.icon` gives (add here when a route needs a new one). */
export const MENU_ICONS: Record<string, Component> = {
  Bell,
  Calendar,
  Document,
  EditPen,
  HomeFilled,
  Notebook,
  Postcard,
  Search,
  Share,
  Stamp,
  Tickets,
}
export const DEFAULT_ICON = MenuIcon
