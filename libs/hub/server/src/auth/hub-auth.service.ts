import { ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { allowsScope, bearerToken, type Principal, type TokenScope, TokenVerifier } from '@natlens/shared-auth';
import { HubMetrics } from '../metrics/hub-metrics';

/*
 * Token → principal, before anything of the request's body is read: the guards call it with the Authorization
 * header alone, and so can any middleware that must refuse a stranger before parsing. Refusals are counted
 * (natlens_hub_auth_refusals_total{reason}) and say what to fix.
 */
@Injectable()
export class HubAuthService {
  constructor(
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(HubMetrics) private readonly metrics: HubMetrics,
  ) {}

  /** The principal behind `Authorization: Bearer <token>`, if it may act in `scope`; else 401 (no token) or 403. */
  authenticate(authorization: string | undefined, scope: TokenScope): Principal {
    const token = bearerToken(authorization);
    if (token === undefined) {
      this.metrics.authRefusals.inc({ reason: 'token-missing' });
      throw new UnauthorizedException({ code: 'token-missing', message: 'send the hub token as `Authorization: Bearer <token>` (the agent reads it from NATLENS_HUB_TOKEN or --hub-token-file)' });
    }
    const principal = this.verifier.identify(token);
    if (principal === undefined) {
      this.metrics.authRefusals.inc({ reason: 'token-rejected' });
      throw new ForbiddenException({ code: 'token-rejected', message: `this token is not one of the hub's ${scope} tokens; check NATLENS_HUB_TOKENS / --token-file on the hub and the token the client sends` });
    }
    if (!allowsScope(principal, scope)) {
      this.metrics.authRefusals.inc({ reason: 'scope' });
      const what = principal.kind === 'node' ? `a node token (bound to node "${principal.node}") may only send that node's records` : 'a read token may not write';
      throw new ForbiddenException({ code: 'token-rejected', message: `this token is not one of the hub's ${scope} tokens: ${what}; use a ${scope} token (NATLENS_HUB_${scope === 'read' ? 'READ_' : ''}TOKENS)` });
    }
    return principal;
  }
}
