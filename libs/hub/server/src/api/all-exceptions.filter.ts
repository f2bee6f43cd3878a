import { ArgumentsHost, BadRequestException, Catch, ExceptionFilter, HttpException, HttpStatus, PayloadTooLargeException } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ApiError } from '@natlens/shared-api';
import { SqliteReadTimeoutError } from '../storage/sqlite-reader';
import type { Logger } from 'pino';

export type { ApiError };

/** What body-parser throws (it runs before any route, so it sets `type` and `status` rather than an HttpException). */
interface BodyParserError {
  type: string;
  status: number;
  limit?: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === 'object' && err !== null && typeof (err as BodyParserError).type === 'string' && typeof (err as BodyParserError).status === 'number';
}

/**
 * body-parser's errors (it sets `type` and `status` rather than throwing an HttpException) as errors that say what
 * to fix; undefined for any other error.
 */
export function bodyParserHttpError(err: unknown, limitSetting: string): HttpException | undefined {
  if (!isBodyParserError(err)) return undefined;
  if (err.type === 'entity.too.large') {
    return new PayloadTooLargeException({ code: 'body-too-large', message: `the body is larger than this route accepts (${err.limit ?? '?'} bytes); send less at once or raise ${limitSetting} on the hub` });
  }
  if (err.type === 'entity.parse.failed') {
    return new BadRequestException({ code: 'malformed-json', message: 'the body is not valid JSON; send a JSON object with Content-Type: application/json' });
  }
  return new HttpException({ code: err.type.replace(/\./g, '-'), message: `the request body could not be read (${err.type}); send JSON with Content-Type: application/json` }, err.status);
}

/** A read the store abandoned at its timeout: SQLite's reader thread, or PostgreSQL's query_canceled (57014). */
function isQueryTimeout(exception: unknown): boolean {
  return exception instanceof SqliteReadTimeoutError || (typeof exception === 'object' && exception !== null && (exception as { code?: unknown }).code === '57014');
}

/** Turns any error into {status, code, message}: a status, a machine code and a sentence that says what to fix. */
export function toApiError(exception: unknown): ApiError {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const body = exception.getResponse();
    const detail = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : { message: String(body) };
    return {
      status,
      code: typeof detail['code'] === 'string' ? detail['code'] : HttpStatus[status]?.toLowerCase().replace(/_/g, '-') ?? 'error',
      message: Array.isArray(detail['message']) ? detail['message'].join('; ') : String(detail['message'] ?? exception.message),
    };
  }
  if (isQueryTimeout(exception)) {
    return { status: 503, code: 'query-timeout', message: `the store gave up on this query: ${(exception as Error).message}; ask for a shorter window or a narrower filter, or raise NATLENS_STORE_STATEMENT_TIMEOUT on the hub` };
  }
  return { status: 500, code: 'internal', message: `unexpected error: ${(exception as Error)?.message ?? String(exception)}; see the hub log` };
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const error = toApiError(exception);
    if (error.status >= 500) this.log.error({ err: exception, method: req.method, url: req.url }, 'request failed');
    else this.log.debug({ method: req.method, url: req.url, ...error }, 'request rejected');
    res.status(error.status).json(error);
  }
}
