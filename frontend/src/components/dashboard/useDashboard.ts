import { computed, onMounted, ref } from 'vue'
import { useRoute, useRouter } from 'vue-router'

import { departmentTree, type Department } from '@/components/admin/departments'
import { inReach, reachOf } from '@/components/admin/reach'
import { loadDepartments } from '@/composables/useDirectory'
import { i18n } from '@/locales'
import { useAuthStore } from '@/store/auth'

import { lastDays } from './stats'

/** The links between the supervision pages. */
export function dashboardNav() {
  const t = i18n.global.t
  return [
    { to: '/dashboard', label: t('dash.nav.overview'), testid: 'nav-overview' },
    { to: '/dashboard/cards', label: t('dash.nav.cards'), testid: 'nav-cards' },
    { to: '/dashboard/violations', label: t('dash.nav.violations'), testid: 'nav-violations' },
    { to: '/dashboard/assessment', label: t('dash.nav.assessment'), testid: 'nav-assessment' },
  ]
}

/**
 * The period (`?from=&to=`, the last 30 days by default) and department (`?department=`) of a
 * supervision page, in the address so that a view can be shared; the departments offered are
 * those one's `stats.read` reaches (the server narrows the figures the same way).
 */
export function useDashboardFilters() {
  const route = useRoute()
  const router = useRouter()
  const auth = useAuthStore()
  const departments = ref<Department[]>([])
  onMounted(async () => {
    departments.value = await loadDepartments().catch(() => [])
  })
  const str = (k: string) => (typeof route.query[k] === 'string' && route.query[k] ? (route.query[k]) : undefined)
  const DAY = /^\d{4}-\d{2}-\d{2}$/
  const period = computed<[string, string]>(() => {
    const from = str('from')
    const to = str('to')
    return from && to && DAY.test(from) && DAY.test(to) ? [from, to] : lastDays(30)
  })
  const department = computed(() => str('department'))
  const reach = computed(() => {
    const stats = reachOf(auth.me, 'stats.read', departments.value)
    const discipline = reachOf(auth.me, 'supervision.manage', departments.value)
    return stats === 'all' || discipline === 'all' ? 'all' : new Set([...stats, ...discipline])
  })
  const departmentOptions = computed(() => {
    const list = inReach(departments.value.filter((d) => d.active), reach.value)
    return departmentTree(list)
  })
  const departmentName = (id: string | null | undefined) => departments.value.find((d) => d.id === id)?.name ?? ''
  function set(patch: Record<string, string | undefined>) {
    void router.push({ query: { ...route.query, ...patch, page: undefined } })
  }
  return { period, department, departments, departmentOptions, departmentName, reach, set, str }
}
