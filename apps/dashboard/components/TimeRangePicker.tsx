'use client';

import { useRouter, useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { fromLocalInput, parseTimeRange, RANGE_PRESETS, toLocalInput } from '../lib/time-range';
import { replaceParams } from '../lib/url';

/** Presets from 15 minutes to 30 days, or a custom UTC range; the choice goes into the URL every page reads. */
export function TimeRangePicker() {
  const params = useSearchParams();
  const router = useRouter();
  const range = parseTimeRange(params, Date.now());
  const [from, setFrom] = useState(toLocalInput(range.from));
  const [to, setTo] = useState(toLocalInput(range.to));
  const [problem, setProblem] = useState<string | undefined>();

  const go = (changes: Record<string, string | undefined>) => router.push(`/history${replaceParams(params, changes)}`);
  const applyCustom = () => {
    const f = fromLocalInput(from);
    const t = fromLocalInput(to);
    if (f === undefined || t === undefined) return setProblem('enter both times as YYYY-MM-DDTHH:MM (UTC)');
    if (f >= t) return setProblem('the start must be before the end');
    setProblem(undefined);
    go({ range: undefined, from: String(f), to: String(t) });
  };

  return (
    <div data-testid="range-picker">
      <div className="filters" role="group" aria-label="time range presets">
        {RANGE_PRESETS.map((p) => (
          <button key={p.key} className={`btn ${range.key === p.key ? 'primary' : ''}`} onClick={() => go({ range: p.key === '1h' ? undefined : p.key, from: undefined, to: undefined })}>
            {p.label}
          </button>
        ))}
      </div>
      <div className="filters">
        <label>
          From (UTC) <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} data-testid="custom-from" />
        </label>
        <label>
          to <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} data-testid="custom-to" />
        </label>
        <button className={`btn ${range.key === 'custom' ? 'primary' : ''}`} onClick={applyCustom} data-testid="custom-apply">
          Apply custom range
        </button>
      </div>
      {problem && <div className="error">{problem}</div>}
    </div>
  );
}
