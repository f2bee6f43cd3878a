/*
 * Per-process session state: signed-out sessions (their sealed cookies stay valid until they expire, so sign-out
 * lists them here until then) and live streams open per session. Kept on globalThis: Next may load this module
 * once per route bundle, and every bundle of the process must see the same lists. A second replica keeps its own
 * lists: behind several replicas, sign-out ends the session on the replica that served it and the cookie's expiry
 * ends it everywhere (NATLENS_DASHBOARD_SESSION_HOURS).
 */
interface Registry {
  revoked: Map<string, number>;
  streams: Map<string, number>;
}

function registry(): Registry {
  const holder = globalThis as typeof globalThis & { __natlensSessionRegistry?: Registry };
  holder.__natlensSessionRegistry ??= { revoked: new Map(), streams: new Map() };
  return holder.__natlensSessionRegistry;
}

export function revokeSession(sid: string, exp: number, now = Date.now()): void {
  const { revoked } = registry();
  for (const [id, until] of revoked) if (until <= now) revoked.delete(id);
  revoked.set(sid, exp);
}

export function isRevoked(sid: string, now = Date.now()): boolean {
  const until = registry().revoked.get(sid);
  return until !== undefined && until > now;
}

/** Opens one of at most `max` streams of session `sid`: a release function, or undefined when all are in use. */
export function openStream(sid: string, max: number): (() => void) | undefined {
  const { streams } = registry();
  const open = streams.get(sid) ?? 0;
  if (open >= max) return undefined;
  streams.set(sid, open + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const now = (streams.get(sid) ?? 1) - 1;
    if (now <= 0) streams.delete(sid);
    else streams.set(sid, now);
  };
}
