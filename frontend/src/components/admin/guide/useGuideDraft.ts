import { computed, ref, shallowRef } from 'vue'

import { ApiError, api, call, type Schema } from '@/api'

import { fieldErrorsOf, isStale } from '../errors'
import { editable, emptyContent, sameContent, toRequest, type EditableContent } from './content'
import { validateGuide, type GuideErrors } from './validate'

export type GuideView = Schema<'GuideView'>
/**
 * `refreshed`: someone else changed the guide's status or recommendation, not its content: the
 * row was read again and the action should be confirmed again.
 */
export type Outcome = 'saved' | 'invalid' | 'conflict' | 'refreshed' | 'published' | 'offline'

/**
 * One guide being edited: its newest version (the draft, or the published version a save will
 * turn into a new draft), what the server has of it, the editor's checks and the server's field
 * errors, and version conflicts: when someone else saved first (409), the newest version is read
 * again and kept as `conflict.theirs` until the editor takes theirs or overwrites it with theirs'
 * version number.
 */
export function useGuideDraft(id: () => string) {
  const guide = shallowRef<GuideView | null>(null)
  const content = ref<EditableContent>(emptyContent())
  const saved = shallowRef<EditableContent>(emptyContent())
  const errors = ref<GuideErrors>({})
  const conflict = shallowRef<{ theirs: GuideView } | null>(null)
  const busy = ref<null | 'save' | 'publish' | 'offline' | 'recommend'>(null)
  const dirty = computed(() => guide.value !== null && !sameContent(content.value, saved.value))

  /** The newest version with the guide's row fields (managers read drafts with `version`). */
  async function fetchLatest(): Promise<GuideView> {
    const versions = await call(api.GET('/api/v1/guides/{id}/versions', { params: { path: { id: id() } } }))
    const newest = versions.reduce((n, v) => Math.max(n, v.number), 0)
    return call(api.GET('/api/v1/guides/{id}', { params: { path: { id: id() }, query: newest ? { version: newest } : {} } }))
  }

  function take(g: GuideView) {
    guide.value = g
    content.value = editable(g.content)
    saved.value = editable(g.content)
  }

  async function load() {
    conflict.value = null
    errors.value = {}
    take(await fetchLatest())
  }

  /** Row fields that actions answering a GuideSummary change (status, versions, recommendation). */
  function merge(s: Schema<'GuideSummary'>) {
    if (guide.value) guide.value = { ...guide.value, ...s }
  }

  async function onStale(): Promise<Outcome> {
    const theirs = await fetchLatest()
    if (sameContent(editable(theirs.content), content.value)) {
      // Nothing to choose between: take their row (and version number) and ask again.
      guide.value = theirs
      saved.value = editable(theirs.content)
      return 'refreshed'
    }
    conflict.value = { theirs }
    return 'conflict'
  }

  /** Save the draft. Errors found before sending keep the request from going out. */
  async function save(): Promise<Outcome> {
    const g = guide.value
    if (!g) return 'invalid'
    errors.value = validateGuide(content.value, 'save')
    if (Object.keys(errors.value).length) return 'invalid'
    busy.value = 'save'
    try {
      const sent = toRequest(content.value)
      const r = await call(api.PUT('/api/v1/guides/{id}', { params: { path: { id: g.id } }, body: { version: g.version, content: sent } }))
      guide.value = r
      saved.value = editable(r.content)
      return 'saved'
    } catch (e) {
      if (isStale(e)) return onStale()
      const fields = fieldErrorsOf(e, ['content.'])
      if (Object.keys(fields).length) {
        errors.value = fields
        return 'invalid'
      }
      throw e
    } finally {
      busy.value = null
    }
  }

  /** Resolve a conflict: take their version (dropping one's changes), or save one's own over it. */
  async function resolve(choice: 'theirs' | 'mine'): Promise<Outcome | null> {
    const c = conflict.value
    if (!c) return null
    conflict.value = null
    if (choice === 'theirs') {
      take(c.theirs)
      return null
    }
    // Overwrite: keep one's content, based on their version number and row fields.
    guide.value = c.theirs
    saved.value = editable(c.theirs.content)
    return save()
  }

  /** Publish the newest draft (saving unsaved changes first), checked as the server checks it. */
  async function publish(): Promise<Outcome> {
    if (dirty.value) {
      const s = await save()
      if (s !== 'saved') return s
    }
    const g = guide.value
    if (!g) return 'invalid'
    errors.value = validateGuide(content.value, 'publish')
    if (Object.keys(errors.value).length) return 'invalid'
    busy.value = 'publish'
    try {
      const r = await call(api.POST('/api/v1/guides/{id}/publish', { params: { path: { id: g.id } }, body: { version: g.version } }))
      take(r)
      return 'published'
    } catch (e) {
      if (isStale(e)) return onStale()
      if (e instanceof ApiError && e.status === 422 && e.errors.length) {
        errors.value = fieldErrorsOf(e, ['content.'])
        return 'invalid'
      }
      throw e
    } finally {
      busy.value = null
    }
  }

  async function takeOffline(): Promise<Outcome> {
    const g = guide.value
    if (!g) return 'invalid'
    busy.value = 'offline'
    try {
      merge(await call(api.POST('/api/v1/guides/{id}/offline', { params: { path: { id: g.id } }, body: { version: g.version } })))
      return 'offline'
    } catch (e) {
      if (isStale(e)) return onStale()
      throw e
    } finally {
      busy.value = null
    }
  }

  async function recommend(recommended: boolean, rank: number): Promise<Outcome> {
    const g = guide.value
    if (!g) return 'invalid'
    busy.value = 'recommend'
    try {
      merge(
        await call(
          api.PUT('/api/v1/guides/{id}/recommendation', {
            params: { path: { id: g.id } },
            body: { recommended, recommend_rank: rank, version: g.version },
          }),
        ),
      )
      return 'saved'
    } catch (e) {
      if (isStale(e)) return onStale()
      throw e
    } finally {
      busy.value = null
    }
  }

  return { guide, content, saved, errors, conflict, busy, dirty, load, save, resolve, publish, takeOffline, recommend, fetchLatest }
}
