import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { bearerToken, TokenVerifier, type TokenScope } from './token-verifier';

abstract class BearerGuard implements CanActivate {
  protected abstract readonly scope: TokenScope;
  constructor(@Inject(TokenVerifier) private readonly verifier: TokenVerifier) {}

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<Request>().headers.authorization;
    const token = bearerToken(header);
    if (token === undefined) {
      throw new UnauthorizedException({ code: 'token-missing', message: 'send the hub token as `Authorization: Bearer <token>` (the agent reads it from NATLENS_HUB_TOKEN or --hub-token-file)' });
    }
    if (!this.verifier.allows(token, this.scope)) {
      throw new ForbiddenException({ code: 'token-rejected', message: `this token is not one of the hub's ${this.scope} tokens; check NATLENS_HUB_TOKENS / --token-file on the hub and the token the client sends` });
    }
    return true;
  }
}

@Injectable()
export class IngestTokenGuard extends BearerGuard {
  protected readonly scope = 'ingest';
}

@Injectable()
export class ReadTokenGuard extends BearerGuard {
  protected readonly scope = 'read';
}
