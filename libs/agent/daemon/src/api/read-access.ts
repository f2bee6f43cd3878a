import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { bearerToken, TokenVerifier } from '@natlens/shared-auth';
import type { Request } from 'express';
import type { AgentConfig } from '../config/agent-config';
import { AGENT_CONFIG } from '../tokens';

/*
 * Who may read the agent's records (GET /api/flows, socket.io /flows). The agent runs on the host network, so its
 * port answers anything that can reach the node: with read tokens configured, a valid one is required everywhere;
 * without, records are served only on a Unix socket (--api-socket, reachable only through the file's permissions)
 * and the TCP port refuses them. /healthz and /metrics stay open and carry no record.
 */
export type ReadDecision = { ok: true } | { ok: false; status: 401 | 403; code: string; message: string };

export function readDecision(verifier: TokenVerifier, tokensConfigured: boolean, unixSocket: boolean, authorization: string | undefined): ReadDecision {
  if (!tokensConfigured) {
    if (unixSocket) return { ok: true };
    return { ok: false, status: 403, code: 'records-need-token', message: "this agent serves records over TCP only to read tokens: set NATLENS_AGENT_READ_TOKENS or NATLENS_AGENT_READ_TOKEN_FILE (the hub's read-token scheme), or serve the API on a Unix socket (--api-socket)" };
  }
  const token = bearerToken(authorization);
  if (token === undefined) return { ok: false, status: 401, code: 'token-missing', message: "send a read token as `Authorization: Bearer <token>` (socket.io: auth: {token}); the agent's read tokens are NATLENS_AGENT_READ_TOKENS / NATLENS_AGENT_READ_TOKEN_FILE" };
  if (!verifier.allows(token, 'read')) return { ok: false, status: 403, code: 'token-rejected', message: "this token is not one of the agent's read tokens (NATLENS_AGENT_READ_TOKENS / NATLENS_AGENT_READ_TOKEN_FILE)" };
  return { ok: true };
}

@Injectable()
export class ReadAccess {
  private readonly verifier: TokenVerifier;

  constructor(@Inject(AGENT_CONFIG) private readonly config: AgentConfig) {
    this.verifier = new TokenVerifier({ read: config.readTokens });
  }

  check(authorization: string | undefined): ReadDecision {
    return readDecision(this.verifier, this.config.readTokens.length > 0, this.config.apiSocket !== undefined, authorization);
  }
}

@Injectable()
export class ReadTokenGuard implements CanActivate {
  constructor(@Inject(ReadAccess) private readonly access: ReadAccess) {}

  canActivate(context: ExecutionContext): boolean {
    const decision = this.access.check(context.switchToHttp().getRequest<Request>().headers.authorization);
    if (decision.ok) return true;
    const body = { code: decision.code, message: decision.message };
    throw decision.status === 401 ? new UnauthorizedException(body) : new ForbiddenException(body);
  }
}
