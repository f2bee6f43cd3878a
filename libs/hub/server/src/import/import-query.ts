/*
 * The query of `POST /api/import`: which node the file was taken on and what format it is. Pure; every problem is
 * named so the caller can fix them all at once.
 */
export type ImportFormat = 'auto' | 'pcap' | 'pcapng' | 'conntrack';

export interface ImportQuery {
  node: string;
  format: ImportFormat;
  /** A name for the summary (the uploaded file's name). */
  name: string;
}

const FORMATS: readonly ImportFormat[] = ['auto', 'pcap', 'pcapng', 'conntrack'];
/** A Kubernetes node name: a DNS subdomain (RFC 1123), at most 253 characters. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function parseImportQuery(query: Record<string, unknown>): { ok: true; value: ImportQuery } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const node = typeof query['node'] === 'string' ? query['node'] : '';
  if (node === '') problems.push('node is missing: name the node the file was taken on (?node=node1); its records are stored under it');
  else if (node.length > 253 || !NODE_NAME.test(node)) problems.push(`node "${node.slice(0, 80)}" is not a Kubernetes node name (lower-case letters, digits, '-' and '.')`);
  const formatValue = query['format'] === undefined || query['format'] === '' ? 'auto' : query['format'];
  const format = FORMATS.find((f) => f === formatValue);
  if (!format) problems.push(`format "${String(formatValue).slice(0, 40)}" is not one of ${FORMATS.join(', ')}`);
  const nameValue = typeof query['name'] === 'string' && query['name'] !== '' ? query['name'] : 'upload';
  // A display name only: control characters and paths are cut, so it is safe to log and show.
  const printable = [...nameValue].filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f).join('');
  const name = printable.split(/[\\/]/).pop()?.slice(0, 200) || 'upload';
  if (problems.length > 0 || !format) return { ok: false, problems };
  return { ok: true, value: { node, format, name } };
}
