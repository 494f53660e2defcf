import { describe, expect, it } from 'vitest'
import { effectScope, nextTick, ref } from 'vue'

import { ApiError } from '@/api'
import { useAsync } from '@/composables/useAsync'

const later = <T>(v: T, ms: number) => new Promise<T>((r) => setTimeout(() => r(v), ms))

describe('useAsync', () => {
  it('keeps the latest load when an earlier, slower one finishes last', async () => {
    const q = ref('a')
    const scope = effectScope()
    const state = scope.run(() => useAsync(() => (q.value === 'a' ? later('slow a', 60) : later('fast b', 5)), { watch: [q] }))!
    q.value = 'b'
    await nextTick()
    await later(null, 100)
    expect(state.data.value).toBe('fast b')
    expect(state.loading.value).toBe(false)
    scope.stop()
  })

  it('keeps the error with the server message and clears it on a successful retry', async () => {
    let fail = true
    const scope = effectScope()
    const state = scope.run(() =>
      useAsync(() =>
        fail
          ? Promise.reject(new ApiError({ status: 503, code: 'unavailable', title: '服务暂不可用', detail: '数据库维护中' }))
          : Promise.resolve(1),
      ),
    )!
    await later(null, 0)
    expect(state.error.value?.message).toBe('数据库维护中')
    fail = false
    await state.reload()
    expect(state.error.value).toBeNull()
    expect(state.data.value).toBe(1)
    scope.stop()
  })
})
