import { createHmac } from 'node:crypto';

/*
 * Tokens bound to one node. Two ways to hand them out:
 *
 * - explicit: one token per node (a Secret per node, a file on each node), listed on the hub as `node=token`;
 * - derived: `natlens-node-v1:<node>:<mac>`, the MAC being HMAC-SHA256(secret, node). Each agent computes its own
 *   from the shared secret and its node name (a DaemonSet gets the name from the downward API), and the hub checks it
 *   without any list of nodes. The price: whoever holds the shared secret can compute every node's token, so it only
 *   keeps a token that leaked from one node (a log, a node's disk) from writing for another.
 */
export const DERIVED_TOKEN_PREFIX = 'natlens-node-v1';

/** Kubernetes node names are DNS subdomains (RFC 1123): lowercase letters, digits, '-' and '.', at most 253. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function isNodeName(name: string): boolean {
  return NODE_NAME.test(name);
}

/** The derived secret is an HMAC key: anything shorter than this is guessable offline from one leaked token. */
export const MIN_NODE_TOKEN_SECRET_LENGTH = 32;

function mac(secret: string, node: string): string {
  // The context string keeps these MACs apart from any other use of the same secret.
  return createHmac('sha256', secret).update(`natlens node token v1\0${node}`, 'utf8').digest('base64url');
}

/** The token node `node` presents when tokens are derived from `secret`. */
export function deriveNodeToken(secret: string, node: string): string {
  if (!isNodeName(node)) throw new Error(`"${node}" is not a Kubernetes node name (lowercase letters, digits, '-' and '.'); a node token cannot be derived for it`);
  return `${DERIVED_TOKEN_PREFIX}:${node}:${mac(secret, node)}`;
}

/** The node a derived token claims, and the token a holder of `secret` would have computed for it. Pure. */
export function derivedTokenClaim(token: string): { node: string } | undefined {
  const parts = token.split(':');
  if (parts.length !== 3 || parts[0] !== DERIVED_TOKEN_PREFIX) return undefined;
  const node = parts[1] as string;
  return isNodeName(node) ? { node } : undefined;
}

/** `node=token` lines (blank lines and # comments skipped), or comma-separated pairs in one environment variable. */
export function parseNodeTokens(text: string, where: string): { tokens: { node: string; token: string }[]; problems: string[] } {
  const tokens: { node: string; token: string }[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .forEach((line, index) => {
      if (line === '' || line.startsWith('#')) return;
      const eq = line.indexOf('=');
      const node = eq < 0 ? '' : line.slice(0, eq).trim();
      const token = eq < 0 ? '' : line.slice(eq + 1).trim();
      if (eq < 0 || !isNodeName(node) || token === '') {
        problems.push(`${where} entry ${index + 1}: expected <node name>=<token>`);
        return;
      }
      if (token.length < 16) problems.push(`${where} entry ${index + 1} (${node}): a token must be at least 16 characters`);
      if (seen.has(node)) problems.push(`${where}: node ${node} is listed twice`);
      seen.add(node);
      tokens.push({ node, token });
    });
  return { tokens, problems };
}
