import { BadRequestException, Controller, HttpCode, Inject, Post, Query, Req, UnsupportedMediaTypeException, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import type { Principal } from '@natlens/shared-auth';
import { AuthPrincipal, IngestTokenGuard } from '../auth/bearer.guard';
import { parseImportQuery } from './import-query';
import { type ImportResult, ImportService } from './import.service';

@Controller('api')
export class ImportController {
  constructor(@Inject(ImportService) private readonly imports: ImportService) {}

  /**
   * `POST /api/import?node=<node>&format=auto|pcap|pcapng|conntrack&name=<file name>` with the file as the raw body
   * (any content type but JSON). Decoded while it streams in, so a capture of any size takes constant memory; a
   * conntrack dump streams too, in a worker thread past 1 MiB, up to 64 MiB (413 past that). Damaged parts are listed
   * with their byte offsets in the answer, and everything readable is still imported. Writes records: needs an ingest
   * token.
   */
  @Post('import')
  @HttpCode(200)
  @UseGuards(IngestTokenGuard)
  async import(@Req() req: Request, @Query() query: Record<string, unknown>, @AuthPrincipal() principal: Principal): Promise<ImportResult> {
    const parsed = parseImportQuery(query);
    if (!parsed.ok) throw new BadRequestException({ code: 'invalid-import-query', message: parsed.problems.join('; ') });
    // The JSON parser has already consumed a JSON body: a capture must come as bytes.
    if (req.readableEnded || req.is('application/json')) {
      throw new UnsupportedMediaTypeException({ code: 'import-not-raw', message: 'send the file itself as the request body with Content-Type: application/octet-stream (curl --data-binary @file.pcap)' });
    }
    const length = Number(req.headers['content-length'] ?? 0);
    return this.imports.importStream(req, parsed.value, Number.isFinite(length) ? length : 0, principal);
  }
}
