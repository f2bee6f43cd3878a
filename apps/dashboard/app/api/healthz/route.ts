/* GET /api/healthz: the dashboard's server answers (no session needed, nothing about the hub or its data). */
export const dynamic = 'force-dynamic';

export function GET(): Response {
  return Response.json({ status: 'ok' });
}
