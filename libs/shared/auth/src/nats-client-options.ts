import { type ConnectionOptions, credsAuthenticator, nkeyAuthenticator } from 'nats';
import type { TlsMaterial } from './tls-files';

/*
 * How an agent or the hub proves who it is to NATS, and how it checks the server: user + password, an nkey seed, or
 * a JWT .creds file (operator mode: nsc, NACK), each read from a file at boot; TLS with an optional CA and client
 * certificate. Credentials in the URL (nats://user:pass@host) keep working too.
 */
export interface NatsClientAuth {
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  /** Contents of an nkey seed file (SU…). */
  readonly nkeySeed?: string | undefined;
  /** Contents of a .creds file (JWT + seed). */
  readonly creds?: string | undefined;
  readonly tls?: TlsMaterial | undefined;
  /** Replies to this client's requests arrive under this prefix: its user may subscribe there and nowhere else. */
  readonly inboxPrefix?: string | undefined;
}

/** The nats.js connection options for `auth`. */
export function natsClientOptions(auth: NatsClientAuth): Partial<ConnectionOptions> {
  const options: Partial<ConnectionOptions> = {};
  if (auth.creds) options.authenticator = credsAuthenticator(new TextEncoder().encode(auth.creds));
  else if (auth.nkeySeed) options.authenticator = nkeyAuthenticator(new TextEncoder().encode(auth.nkeySeed.trim()));
  else if (auth.user) {
    options.user = auth.user;
    if (auth.password !== undefined) options.pass = auth.password;
  }
  if (auth.tls && Object.keys(auth.tls).length > 0) options.tls = { ...auth.tls };
  if (auth.inboxPrefix) options.inboxPrefix = auth.inboxPrefix;
  return options;
}
