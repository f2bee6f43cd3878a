/*
 * Where uploads go: the hub's `POST /api/import` needs an ingest token, which the dashboard's read token is not.
 *   NATLENS_HUB_IMPORT_TOKEN  an ingest token of the hub (kept on this server); without it the Import page says so
 *   NATLENS_HUB_URL           as for every other page (lib/hub-config.ts)
 */
export interface ImportConfig {
  url: string;
  token: string;
}

export function importConfig(): { ok: true; value: ImportConfig } | { ok: false; message: string } {
  const url = (process.env['NATLENS_HUB_URL'] ?? 'http://127.0.0.1:8470').replace(/\/+$/, '');
  const token = process.env['NATLENS_HUB_IMPORT_TOKEN'] ?? '';
  if (!/^https?:\/\/[^/]+$/.test(url)) return { ok: false, message: `NATLENS_HUB_URL="${url}" is not http(s)://host:port` };
  if (token.length < 16) {
    return { ok: false, message: 'imports are off: start the dashboard with NATLENS_HUB_IMPORT_TOKEN set to one of the hub\'s ingest tokens (natlens demo does this); `natlens import FILE --node NAME` works without it' };
  }
  return { ok: true, value: { url, token } };
}
