import { createHash, timingSafeEqual } from 'node:crypto';
import { deriveNodeToken, derivedTokenClaim } from './node-tokens';

/*
 * Who presented a token. Ingest tokens without a node may write records of any node (the dashboard's and
 * `natlens import`'s uploads) and read; node tokens may write only their node's records and read nothing; read tokens
 * only read.
 */
export type Principal =
  | { readonly kind: 'ingest'; readonly label: 'ingest-token' }
  | { readonly kind: 'node'; readonly node: string; readonly label: string }
  | { readonly kind: 'read'; readonly label: 'read-token' };

export type TokenScope = 'ingest' | 'read';

export interface TokenSet {
  readonly ingest?: readonly string[];
  readonly read?: readonly string[];
  /** Tokens bound to one node each (a Secret per node). */
  readonly nodeTokens?: readonly { readonly node: string; readonly token: string }[];
  /** Node tokens are also accepted when derived from this secret (node-tokens.ts). */
  readonly nodeTokenSecret?: string;
}

/** True when the principal may read the API and the live stream. */
export function mayRead(principal: Principal): boolean {
  return principal.kind === 'ingest' || principal.kind === 'read';
}

/** True when the principal may write records of `node`. */
export function mayWriteFor(principal: Principal, node: string): boolean {
  return principal.kind === 'ingest' || (principal.kind === 'node' && principal.node === node);
}

export function allowsScope(principal: Principal, scope: TokenScope): boolean {
  return scope === 'read' ? mayRead(principal) : principal.kind === 'ingest' || principal.kind === 'node';
}

/**
 * Bearer tokens, compared in constant time. Each token is hashed first so the comparison always runs over 32 bytes
 * whatever the lengths (timingSafeEqual needs equal lengths, and an early length check would leak the length), and
 * every configured token is compared, so the time does not tell which one matched. A derived node token is checked
 * by recomputing its MAC for the node it names and comparing the same way.
 */
export class TokenVerifier {
  private readonly known: { digest: Buffer; principal: Principal }[];
  private readonly nodeTokenSecret: string | undefined;

  constructor(tokens: TokenSet) {
    const ingest: Principal = { kind: 'ingest', label: 'ingest-token' };
    const read: Principal = { kind: 'read', label: 'read-token' };
    this.known = [
      ...(tokens.ingest ?? []).map((t) => ({ digest: digest(t), principal: ingest })),
      ...(tokens.read ?? []).map((t) => ({ digest: digest(t), principal: read })),
      ...(tokens.nodeTokens ?? []).map(({ node, token }) => ({ digest: digest(token), principal: { kind: 'node' as const, node, label: `node-token:${node}` } })),
    ];
    this.nodeTokenSecret = tokens.nodeTokenSecret;
  }

  /** Whether any node-bound token is configured (explicit or derived). */
  get bindsNodes(): boolean {
    return this.nodeTokenSecret !== undefined || this.known.some((k) => k.principal.kind === 'node');
  }

  /** Who holds `token`, or undefined for an unknown (or empty) one. */
  identify(token: string | undefined): Principal | undefined {
    if (token === undefined || token === '') return undefined;
    const presented = digest(token);
    let found: Principal | undefined;
    for (const known of this.known) if (timingSafeEqual(presented, known.digest) && !found) found = known.principal;
    if (!found && this.nodeTokenSecret !== undefined) {
      const claim = derivedTokenClaim(token);
      if (claim && timingSafeEqual(presented, digest(deriveNodeToken(this.nodeTokenSecret, claim.node)))) {
        found = { kind: 'node', node: claim.node, label: `node-token:${claim.node}` };
      }
    }
    return found;
  }

  allows(token: string | undefined, scope: TokenScope): boolean {
    const principal = this.identify(token);
    return principal !== undefined && allowsScope(principal, scope);
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
