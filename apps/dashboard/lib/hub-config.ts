/*
 * How the dashboard's server reaches the hub: the only place that reads the environment.
 *   NATLENS_HUB_URL    the hub's HTTP address (default http://127.0.0.1:8470)
 *   NATLENS_HUB_TOKEN  a hub read token (or an ingest token); it stays on this server: the browser talks only to the
 *                      dashboard, which proxies REST reads (/api/hub/*) and the live feed (/api/live) to the hub.
 */
export interface HubConfig {
  url: string;
  token: string;
}

export class HubConfigError extends Error {}

export function hubConfig(): HubConfig {
  const url = (process.env['NATLENS_HUB_URL'] ?? 'http://127.0.0.1:8470').replace(/\/+$/, '');
  const token = process.env['NATLENS_HUB_TOKEN'] ?? '';
  const problems: string[] = [];
  if (!/^https?:\/\/[^/]+$/.test(url)) problems.push(`NATLENS_HUB_URL="${url}" is not http(s)://host:port`);
  if (token.length < 16) problems.push('NATLENS_HUB_TOKEN is not set (or shorter than 16 characters): start the dashboard with a hub read token, e.g. the one `natlens demo` prints');
  if (problems.length > 0) throw new HubConfigError(problems.join('; '));
  return { url, token };
}
