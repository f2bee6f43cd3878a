import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { ApiError } from '@natlens/shared-api';
import type { Response } from 'express';

/** Every API error as {status, code, message}: a status, a machine code and a sentence that says what to fix. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const detail = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : { message: String(body) };
      res.status(status).json({
        status,
        code: typeof detail['code'] === 'string' ? detail['code'] : HttpStatus[status]?.toLowerCase().replace(/_/g, '-') ?? 'error',
        message: Array.isArray(detail['message']) ? detail['message'].join('; ') : String(detail['message'] ?? exception.message),
      } satisfies ApiError);
      return;
    }
    res.status(500).json({ status: 500, code: 'internal', message: `unexpected error: ${(exception as Error)?.message ?? exception}; see the agent log` } satisfies ApiError);
  }
}
