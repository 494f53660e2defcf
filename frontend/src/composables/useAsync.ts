import { onScopeDispose, ref, shallowRef, watch, type Ref, type WatchSource } from 'vue'

import type { ApiError } from '@/api'

/**
 * Load something and keep its state for the page: `data`, `loading`, `error` (an ApiError with
 * the server's message), `reload()`. Reloads when a watched source changes; a slower earlier load
 * never overwrites a later one.
 */
export function useAsync<T>(load: () => Promise<T>, opts: { watch?: WatchSource[]; immediate?: boolean } = {}) {
  const data = shallowRef<T | null>(null) as Ref<T | null>
  const loading = ref(false)
  const error = shallowRef<ApiError | Error | null>(null)
  let seq = 0
  let alive = true
  onScopeDispose(() => {
    alive = false
  })

  async function reload(): Promise<void> {
    const mine = ++seq
    loading.value = true
    error.value = null
    try {
      const v = await load()
      if (alive && mine === seq) data.value = v
    } catch (e) {
      if (alive && mine === seq) error.value = e instanceof Error ? e : new Error(String(e))
    } finally {
      if (alive && mine === seq) loading.value = false
    }
  }

  if (opts.watch?.length) watch(opts.watch, () => void reload())
  if (opts.immediate !== false) void reload()
  return { data, loading, error, reload }
}
