/**
 * A webhook URL is a credential: Slack's and most chat services' incoming-webhook URLs carry their
 * secret in the path (`/services/T…/B…/XXXX`), others in `user:pass@` or a `?token=` query. Every
 * output shows only where it points: scheme, host, port and the first path segment.
 *
 *   https://hooks.slack.com/services/T000/B000/XXXX  →  https://hooks.slack.com/services/****
 *   https://bot:s3cret@alerts.example.com/hook?k=1  →  https://bot:****@alerts.example.com/hook?****
 */
export function maskWebhookUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '****';
  }
  const auth = u.username ? `${u.username}${u.password ? ':****' : ''}@` : u.password ? ':****@' : '';
  const segments = u.pathname.split('/').filter(Boolean);
  const path = segments.length === 0 ? '' : `/${segments[0]}${segments.length > 1 ? '/****' : ''}`;
  return `${u.protocol}//${auth}${u.host}${path}${u.search ? '?****' : ''}`;
}
