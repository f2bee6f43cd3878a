import { CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { Principal, TokenScope } from '@natlens/shared-auth';
import { HubAuthService } from './hub-auth.service';

/** Where a guard leaves the request's principal for the handler (@AuthPrincipal()). */
const PRINCIPAL = Symbol('natlens.principal');

type RequestWithPrincipal = Request & { [PRINCIPAL]?: Principal };

/** Reads only the Authorization header: safe to run before the body is parsed. */
abstract class BearerGuard implements CanActivate {
  protected abstract readonly scope: TokenScope;
  constructor(@Inject(HubAuthService) private readonly auth: HubAuthService) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<RequestWithPrincipal>();
    request[PRINCIPAL] = this.auth.authenticate(request.headers.authorization, this.scope);
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

/** The principal a guard of this route authenticated (the route must have one). */
export function principalOf(request: Request): Principal {
  const principal = (request as RequestWithPrincipal)[PRINCIPAL];
  if (!principal) throw new Error('no principal on this request: the route needs IngestTokenGuard or ReadTokenGuard');
  return principal;
}

export const AuthPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => principalOf(context.switchToHttp().getRequest<Request>()));
