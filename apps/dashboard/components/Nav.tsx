'use client';

import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { parseTimeRange, RANGE_PRESETS } from '../lib/time-range';
import { replaceParams, withRange } from '../lib/url';

const PAGES = [
  { href: '/services', label: 'Services' },
  { href: '/live', label: 'Live' },
  { href: '/history', label: 'History' },
  { href: '/nodes', label: 'Nodes' },
  { href: '/alerts', label: 'Alerts' },
  { href: '/import', label: 'Import' },
];
/** Pages that come with their own issues: shown, not yet linked. */
const COMING: { label: string; why: string }[] = [];

export function Nav({ user }: { user: string }) {
  const pathname = usePathname();
  const params = useSearchParams();
  const router = useRouter();
  const range = parseTimeRange(params, Date.now());
  const onRange = (value: string) => {
    if (value === 'custom') return router.push(withRange('/history', params));
    router.push(`${pathname}${replaceParams(params, { range: value === '1h' ? undefined : value, from: undefined, to: undefined })}`);
  };
  return (
    <header className="top">
      <Link href={withRange('/services', params)} className="brand" aria-label="natlens home">
        nat<span>lens</span>
      </Link>
      <nav className="main" aria-label="pages">
        {PAGES.map((p) => (
          <Link key={p.href} href={withRange(p.href, params)} className={pathname.startsWith(p.href) ? 'active' : undefined}>
            {p.label}
          </Link>
        ))}
        {COMING.map((p) => (
          <span key={p.label} className="soon" title={p.why} aria-disabled="true">
            {p.label}
            <small>soon</small>
          </span>
        ))}
      </nav>
      <label className="range">
        <span>Time range</span>
        <select value={range.key} onChange={(e) => onRange(e.target.value)} data-testid="range-select">
          {RANGE_PRESETS.map((p) => (
            <option key={p.key} value={p.key}>
              {p.label}
            </option>
          ))}
          <option value="custom">{range.key === 'custom' ? range.label : 'Custom…'}</option>
        </select>
      </label>
      <form className="session" method="post" action="/api/auth/signout">
        <span data-testid="session-user">{user}</span>
        <button type="submit" data-testid="signout">
          Sign out
        </button>
      </form>
    </header>
  );
}
