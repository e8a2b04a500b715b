/**
 * True for an `http://` URL to a host other than this machine (loopback: 127.0.0.0/8, ::1,
 * localhost): whatever it carries (an API key header, a response that lands in the cache) crosses the
 * network in cleartext, readable and changeable on the way.
 */
export function cleartextRemoteUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:') return false;
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const loopback = host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
  return !loopback;
}
