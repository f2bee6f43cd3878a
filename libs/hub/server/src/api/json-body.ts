import { applyDecorators, type CallHandler, type ExecutionContext, HttpException, Inject, Injectable, type NestInterceptor, SetMetadata, UseInterceptors } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { json } from 'body-parser';
import type { Request, RequestHandler, Response } from 'express';
import { from, mergeMap, type Observable } from 'rxjs';
import type { HubConfig } from '../config/hub-config';
import { HUB_CONFIG } from '../tokens';
import { bodyParserHttpError } from './all-exceptions.filter';

/*
 * The hub has no global body parser: a route that takes JSON parses its body here, in an interceptor. Nest runs
 * guards before interceptors, so the token is checked on the headers alone and a stranger's body is never read
 * (issue 18: an unauthenticated 14 MB body used to be parsed, 2.6 s, before the 401). Each route has its own limit.
 */

/** How many bytes of JSON a route accepts, from the hub's settings, and the setting that raises it. */
export type BodyLimit = (config: HubConfig) => { readonly bytes: number; readonly setting: string };

const JSON_BODY_LIMIT = Symbol('natlens.jsonBodyLimit');

@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  private readonly parsers = new Map<number, RequestHandler>();

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const limitOf = this.reflector.get<BodyLimit | undefined>(JSON_BODY_LIMIT, context.getHandler());
    if (!limitOf) throw new Error('JsonBodyInterceptor needs @JsonBody(limit) on the route');
    const http = context.switchToHttp();
    const limit = limitOf(this.config);
    return from(this.parse(http.getRequest<Request>(), http.getResponse<Response>(), limit.bytes, limit.setting)).pipe(mergeMap(() => next.handle()));
  }

  private parse(req: Request, res: Response, limit: number, setting: string): Promise<void> {
    let parser = this.parsers.get(limit);
    if (!parser) {
      parser = json({ limit });
      this.parsers.set(limit, parser);
    }
    const run = parser;
    return new Promise<void>((resolve, reject) => {
      run(req, res, (err?: unknown) => {
        if (err === undefined || err === null) return resolve();
        reject(bodyParserHttpError(err, setting) ?? (err instanceof HttpException ? err : new Error(String((err as Error)?.message ?? err))));
      });
    });
  }
}

/**
 * The route's body is JSON of at most `limit` bytes, parsed after its guards passed. Without a JSON content type
 * the body stays unread and `@Body()` is undefined (the route's validation says what to send).
 */
export function JsonBody(limit: BodyLimit): MethodDecorator {
  return applyDecorators(SetMetadata(JSON_BODY_LIMIT, limit), UseInterceptors(JsonBodyInterceptor));
}
