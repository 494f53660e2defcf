export { api, call, downloadBlob, idempotencyKey, setApiLanguage } from './client'
export { ApiError, errorMessage, isApiError } from './problem'
export type { components, paths } from './schema'

import type { components } from './schema'

/** Shorthand for a schema of the generated API types: `Schema<'AffairView'>`. */
export type Schema<K extends keyof components['schemas']> = components['schemas'][K]
