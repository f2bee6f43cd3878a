import type { ServiceHeadline } from './api-types';

/* Sorting and filtering of the Services table, from the URL parameters `sort`, `dir`, `q`, `type`, `policy`. */

export const SORT_KEYS = ['name', 'type', 'policy', 'connections', 'snat', 'imbalance'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface TableQuery {
  sort: SortKey;
  dir: 'asc' | 'desc';
  /** Substring of `namespace/name`. */
  text: string;
  type?: string;
  policy?: string;
  /** Only Services with SNAT'd external clients. */
  snatOnly: boolean;
}

export function readTableQuery(params: { get(name: string): string | null }): TableQuery {
  const sort = params.get('sort');
  const dir = params.get('dir');
  const type = params.get('type');
  const policy = params.get('policy');
  return {
    sort: (SORT_KEYS as readonly string[]).includes(sort ?? '') ? (sort as SortKey) : 'name',
    dir: dir === 'desc' ? 'desc' : dir === 'asc' ? 'asc' : sort && sort !== 'name' && sort !== 'type' && sort !== 'policy' ? 'desc' : 'asc',
    text: params.get('q') ?? '',
    ...(type ? { type } : {}),
    ...(policy ? { policy } : {}),
    snatOnly: params.get('snat') === '1',
  };
}

/** `imbalance` holds max/mean per `namespace/name` where known; unknown values sort last in either direction. */
export function sortAndFilter(services: readonly ServiceHeadline[], query: TableQuery, imbalance: ReadonlyMap<string, number> = new Map()): ServiceHeadline[] {
  const text = query.text.trim().toLowerCase();
  const rows = services.filter(
    (s) =>
      (!text || `${s.namespace}/${s.name}`.toLowerCase().includes(text)) &&
      (!query.type || s.type === query.type) &&
      (!query.policy || s.externalTrafficPolicy === query.policy) &&
      (!query.snatOnly || s.snatted > 0),
  );
  const sign = query.dir === 'asc' ? 1 : -1;
  const key = (s: ServiceHeadline) => `${s.namespace}/${s.name}`;
  const value = (s: ServiceHeadline): string | number | undefined => {
    switch (query.sort) {
      case 'name': return key(s);
      case 'type': return s.type;
      case 'policy': return s.externalTrafficPolicy;
      case 'connections': return s.connections;
      case 'snat': return s.external > 0 ? s.snatRatio : undefined;
      case 'imbalance': return imbalance.get(key(s));
    }
  };
  return rows
    .map((s) => ({ s, v: value(s) }))
    .sort((a, b) => {
      if (a.v === undefined || b.v === undefined) return a.v === b.v ? key(a.s).localeCompare(key(b.s)) : a.v === undefined ? 1 : -1;
      const c = typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : String(a.v).localeCompare(String(b.v));
      return c !== 0 ? sign * c : key(a.s).localeCompare(key(b.s));
    })
    .map((x) => x.s);
}
