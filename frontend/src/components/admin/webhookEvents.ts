import type { Schema } from '@/api'

export type WebhookEvent = Schema<'WebhookEvent'>

/**
 * The events a webhook may subscribe to, in the order the form offers them: every value of the
 * API's `WebhookEvent` but `ping`, which is sent on request only (`POST /webhooks/{id}/ping`).
 */
export const SUBSCRIBABLE_EVENTS = [
  'affair.submitted',
  'affair.resubmitted',
  'affair.returned',
  'affair.completed',
  'affair.rejected',
  'affair.withdrawn',
  'certificate.issued',
  'certificate.revoked',
] as const satisfies readonly WebhookEvent[]

// Fails to compile when the API offers an event this list lacks (after `npm run gen:api`).
type Unlisted = Exclude<WebhookEvent, (typeof SUBSCRIBABLE_EVENTS)[number] | 'ping'>
export const EVENTS_COMPLETE: [Unlisted] extends [never] ? true : Unlisted = true

/** The i18n key of an event's name (message keys cannot contain dots). */
export const eventKey = (e: string) => `integrations.ev.${e.replace(/\./g, '_')}`
