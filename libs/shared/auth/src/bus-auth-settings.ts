import type { NatsClientAuth } from './nats-client-options';
import { readTlsFiles } from './tls-files';

/*
 * The NATS client settings an agent and the hub read the same way, from their environment (passed in: only each
 * process's config module reads process.env):
 *
 *   NATLENS_BUS_USER, NATLENS_BUS_PASSWORD or NATLENS_BUS_PASSWORD_FILE   user + password
 *   NATLENS_BUS_NKEY_SEED_FILE                                            an nkey seed (SU…)
 *   NATLENS_BUS_CREDS_FILE                                                a JWT .creds file (operator mode)
 *   NATLENS_BUS_TLS_CA_FILE, NATLENS_BUS_TLS_CERT_FILE, NATLENS_BUS_TLS_KEY_FILE   TLS (client certificate optional)
 *
 * One way of authenticating at a time; every problem is returned.
 */
export function busAuthFromEnv(env: NodeJS.ProcessEnv, readFile: (path: string) => string): { auth: NatsClientAuth; problems: string[] } {
  const problems: string[] = [];
  const file = (name: string): string | undefined => {
    const path = env[name];
    if (!path) return undefined;
    try {
      return readFile(path);
    } catch (err) {
      problems.push(`${name}=${path}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const user = env['NATLENS_BUS_USER'] || undefined;
  const passwordFile = file('NATLENS_BUS_PASSWORD_FILE');
  const password = passwordFile !== undefined ? passwordFile.replace(/\r?\n$/, '') : env['NATLENS_BUS_PASSWORD'] || undefined;
  const nkeySeed = file('NATLENS_BUS_NKEY_SEED_FILE');
  const creds = file('NATLENS_BUS_CREDS_FILE');
  const ways = [user !== undefined && 'NATLENS_BUS_USER', nkeySeed !== undefined && 'NATLENS_BUS_NKEY_SEED_FILE', creds !== undefined && 'NATLENS_BUS_CREDS_FILE'].filter(Boolean);
  if (ways.length > 1) problems.push(`NATS: ${ways.join(' and ')} are both set; authenticate one way`);
  if (password !== undefined && user === undefined) problems.push('NATS: a password is set (NATLENS_BUS_PASSWORD or _FILE) without NATLENS_BUS_USER');
  if (nkeySeed !== undefined && !/^\s*SU[A-Z2-7]{56}\s*$/.test(nkeySeed)) problems.push(`NATLENS_BUS_NKEY_SEED_FILE=${env['NATLENS_BUS_NKEY_SEED_FILE']}: not a user nkey seed (SU… 58 characters)`);
  if (creds !== undefined && !/-----BEGIN NATS USER JWT-----/.test(creds)) problems.push(`NATLENS_BUS_CREDS_FILE=${env['NATLENS_BUS_CREDS_FILE']}: not a NATS .creds file (no "BEGIN NATS USER JWT" block)`);
  const tls = readTlsFiles({ caFile: env['NATLENS_BUS_TLS_CA_FILE'], certFile: env['NATLENS_BUS_TLS_CERT_FILE'], keyFile: env['NATLENS_BUS_TLS_KEY_FILE'] }, readFile, 'NATS TLS');
  problems.push(...tls.problems);
  return {
    auth: {
      ...(user !== undefined ? { user } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(nkeySeed !== undefined ? { nkeySeed } : {}),
      ...(creds !== undefined ? { creds } : {}),
      ...(Object.keys(tls.material).length > 0 ? { tls: tls.material } : {}),
    },
    problems,
  };
}
