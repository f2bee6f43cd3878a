import type { Metadata } from 'next';
import { authConfig } from '../../lib/auth-config';
import { safeNext } from '../../lib/request-auth';

export const metadata: Metadata = { title: 'natlens — sign in' };
export const dynamic = 'force-dynamic';

const ERRORS: Record<string, string> = {
  refused: 'The hub refused this token: it is not one of its read tokens (NATLENS_HUB_READ_TOKENS or an ingest token). Check it and try again.',
  'hub-unreachable': 'The dashboard could not ask the hub about this token (is the hub running, and NATLENS_HUB_URL right?). Try again.',
  'no-secret': 'Sign-in is off: the dashboard has no session secret. Set NATLENS_DASHBOARD_SESSION_SECRET (32 characters or more) and restart it.',
};

/** A plain HTML form: signing in works without JavaScript. */
export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = safeNext(typeof params['next'] === 'string' ? params['next'] : undefined);
  const error = typeof params['error'] === 'string' ? ERRORS[params['error']] : undefined;
  const config = authConfig();
  return (
    <div className="signin panel">
      <h1>Sign in to natlens</h1>
      <p className="muted">
        Paste a natlens <strong>read token</strong> (one of the hub&apos;s <code>NATLENS_HUB_READ_TOKENS</code>; <code>natlens demo</code> prints one). The
        dashboard checks it with the hub and keeps it in a sealed session cookie; it reads the hub with it until you sign out.
      </p>
      {error && (
        <div className="notice error" role="alert" data-testid="signin-error">
          {error}
        </div>
      )}
      {config.problems.map((problem) => (
        <div key={problem} className="notice">
          {problem}
        </div>
      ))}
      <form method="post" action="/api/auth/signin">
        <input type="hidden" name="next" value={next} />
        <label>
          <span>Read token</span>
          <input type="password" name="token" autoComplete="current-password" required minLength={16} data-testid="signin-token" />
        </label>
        <button type="submit" className="btn primary" data-testid="signin-submit">
          Sign in
        </button>
      </form>
      <p className="muted small">
        Already signed in? <a href={next}>Continue</a> (a link from another site arrives without the session cookie, which is SameSite=Strict).
      </p>
    </div>
  );
}
