import { createHash, timingSafeEqual } from 'node:crypto';

export type TokenScope = 'ingest' | 'read';

/**
 * Bearer tokens, compared in constant time. Each token is hashed first so the comparison always runs over 32 bytes
 * whatever the lengths (timingSafeEqual needs equal lengths, and an early length check would leak the length), and
 * every configured token is compared, so the time does not tell which one matched.
 *
 * Ingest tokens may do everything; read tokens may read the API and the live stream but not ingest.
 */
export class TokenVerifier {
  private readonly ingest: Buffer[];
  private readonly read: Buffer[];

  constructor(ingestTokens: readonly string[], readTokens: readonly string[]) {
    this.ingest = ingestTokens.map(digest);
    this.read = readTokens.map(digest);
  }

  allows(token: string | undefined, scope: TokenScope): boolean {
    if (token === undefined || token === '') return false;
    const presented = digest(token);
    let match = false;
    for (const known of scope === 'ingest' ? this.ingest : [...this.ingest, ...this.read]) match = timingSafeEqual(presented, known) || match;
    return match;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
