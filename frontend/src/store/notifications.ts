import { defineStore } from 'pinia'
import { ref } from 'vue'

import { api, call } from '@/api'
import { openNotificationStream, type NotificationView } from '@/api/stream'

/** The unread badge, kept live by the notification stream while someone is signed in. */
export const useNotificationStore = defineStore('notifications', () => {
  const unread = ref(0)
  /** Bumped when the list should reload (a new notification or a resync). */
  const revision = ref(0)
  const latest = ref<NotificationView | null>(null)
  let stop: (() => void) | null = null

  async function refresh() {
    try {
      unread.value = (await call(api.GET('/api/v1/notifications/summary'))).unread
    } catch {
      // The badge is not worth an error message; the stream or the next call will fix it.
    }
  }

  function start() {
    if (stop) return
    void refresh()
    stop = openNotificationStream({
      notification(n) {
        latest.value = n
        revision.value += 1
      },
      unread(count) {
        unread.value = count
      },
      resync() {
        revision.value += 1
        void refresh()
      },
    })
  }

  function end() {
    stop?.()
    stop = null
    unread.value = 0
    latest.value = null
  }

  return { unread, revision, latest, refresh, start, end }
})
