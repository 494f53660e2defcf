import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

/** Phone layout below this width (CSS px). */
export const MOBILE_MAX_WIDTH = 768
const OVERRIDE_KEY = 'tongban.layout'

type Override = 'mobile' | 'pc' | null

function readOverride(): Override {
  // `?m=1` / `?m=0` choose the phone or PC layout for this tab (as the WeChat entry links do).
  const m = new URLSearchParams(window.location.search).get('m')
  if (m === '1' || m === '0') {
    const o = m === '1' ? 'mobile' : 'pc'
    sessionStorage.setItem(OVERRIDE_KEY, o)
    return o
  }
  const saved = sessionStorage.getItem(OVERRIDE_KEY)
  return saved === 'mobile' || saved === 'pc' ? saved : null
}

/** Which layout to show: by viewport width, unless overridden. */
export const useAppStore = defineStore('app', () => {
  const query = window.matchMedia(`(max-width: ${MOBILE_MAX_WIDTH}px)`)
  const narrow = ref(query.matches)
  query.addEventListener('change', (e) => {
    narrow.value = e.matches
  })
  const override = ref<Override>(readOverride())
  const isMobile = computed(() => (override.value ? override.value === 'mobile' : narrow.value))

  function setLayout(o: Override) {
    override.value = o
    if (o) sessionStorage.setItem(OVERRIDE_KEY, o)
    else sessionStorage.removeItem(OVERRIDE_KEY)
  }

  return { isMobile, setLayout }
})
