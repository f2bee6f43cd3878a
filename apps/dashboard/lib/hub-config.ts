import type { Session } from './session';

/*
 * How the dashboard's server reaches the hub: the only place that reads these variables.
 *   NATLENS_HUB_URL    the hub's address (default http://127.0.0.1:8470); https:// with a private CA: start the
 *                      dashboard with NODE_EXTRA_CA_CERTS=/path/to/ca.crt
 *   NATLENS_HUB_TOKEN  the dashboard's own hub read token, used for users an authenticating proxy vouched for; users
 *                      who signed in with a read token read the hub with their own. It stays on this server: the
 *                      browser talks only to the dashboard, which proxies REST reads (/api/hub/*) and the live feed
 *                      (/api/live) to the hub.
 */
export interface HubConfig {
  url: string;
  token: string;
}

export class HubConfigError extends Error {}

/** The hub's base URL, checked. */
export function hubUrl(): string {
  const url = (process.env['NATLENS_HUB_URL'] ?? 'http://127.0.0.1:8470').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(url)) throw new HubConfigError(`NATLENS_HUB_URL="${url}" is not http(s)://host:port`);
  return url;
}

/** Where and with which token to read the hub for this session. */
export function hubConfigFor(session: Session): HubConfig {
  const url = hubUrl();
  if (session.hubToken) return { url, token: session.hubToken };
  const token = process.env['NATLENS_HUB_TOKEN'] ?? '';
  if (token.length < 16) {
    throw new HubConfigError('NATLENS_HUB_TOKEN is not set (or shorter than 16 characters): users signed in through the authenticating proxy read the hub with the dashboard\'s own read token; set it to a hub read token');
  }
  return { url, token };
}
