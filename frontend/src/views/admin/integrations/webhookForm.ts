import { i18n } from '@/locales'

/**
 * A webhook form checked as the server checks it (`CreateWebhook`, `UpdateWebhook`): the name
 * (new hooks only), an http(s) URL without credentials, at least one event, and an own secret of
 * 16–128 visible ASCII characters when one is given. Errors by field.
 */
export function checkHook(
  f: { name?: string; url: string; events: string[]; secret?: string },
  opts: { name?: boolean } = {},
): Record<string, string> {
  const t = i18n.global.t
  const e: Record<string, string> = {}
  if (opts.name && !/^[A-Za-z0-9_-]{1,64}$/.test(f.name?.trim() ?? '')) e.name = t('integrations.hookNameInvalid')
  let url: URL | null = null
  try {
    url = new URL(f.url.trim())
  } catch {
    url = null
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password || f.url.trim().length > 1024) e.url = t('integrations.urlInvalid')
  if (!f.events.length) e.events = t('integrations.eventsRequired')
  if (f.secret && !/^[\x21-\x7e]{16,128}$/.test(f.secret)) e.secret = t('integrations.secretInvalid')
  return e
}
