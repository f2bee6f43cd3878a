import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { SESSION_COOKIE, type Session } from './session';
import { sessionFor } from './session-resolve';

/* The session of the request being served, for pages and route handlers (server only: next/headers). */

/** The session of the request being rendered or handled (next/headers), or undefined: anonymous. */
export async function currentSession(): Promise<Session | undefined> {
  const [jar, list] = await Promise.all([cookies(), headers()]);
  return sessionFor(list, jar.get(SESSION_COOKIE)?.value);
}

/** For pages: the session, or off to the sign-in page (the proxy sends anonymous visitors there first anyway). */
export async function pageSession(path: string): Promise<Session> {
  const session = await currentSession();
  if (!session) redirect(`/signin?next=${encodeURIComponent(path)}`);
  return session;
}

/** For route handlers: a 401 answer when the request has no session. */
export function unauthenticated(): Response {
  return Response.json({ status: 401, code: 'sign-in-required', message: 'sign in to the dashboard first (/signin, with a natlens read token)' }, { status: 401 });
}
