import { i18n } from '@/locales'

/** The links between the integrators' pages (API clients, webhooks). */
export function integrationLinks() {
  const t = i18n.global.t
  return [
    { to: '/admin/integrations/clients', label: t('adminMenu.apiClients'), testid: 'nav-api-clients' },
    { to: '/admin/integrations/webhooks', label: t('adminMenu.webhooks'), testid: 'nav-webhooks' },
  ]
}

/** How an integrator obtains a token (shown with a new secret and on a client's page). */
export function tokenExample(clientId: string, secret: string, scope?: string) {
  const origin = typeof location === 'undefined' ? '' : location.origin
  const scopeArg = scope ? ` \\\n  -d 'scope=${scope}'` : ''
  return `curl -u '${clientId}:${secret}' \\\n  -d grant_type=client_credentials${scopeArg} \\\n  ${origin}/api/v1/oauth/token`
}
