import { defineStore } from 'pinia'
import { ref } from 'vue'

import { api, call, type Schema } from '@/api'

/** The workspace counts (`GET /tasks/counts`) for menus and tabs; reloaded after each action. */
export const useTaskCountStore = defineStore('taskCounts', () => {
  const counts = ref<Schema<'TaskCounts'> | null>(null)
  async function refresh() {
    try {
      counts.value = await call(api.GET('/api/v1/tasks/counts'))
    } catch {
      counts.value = null
    }
  }
  return { counts, refresh }
})
