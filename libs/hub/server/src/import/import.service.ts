import { BadRequestException, HttpException, Inject, Injectable, PayloadTooLargeException } from '@nestjs/common';
import { ClusterIndex, type ClusterMetadataSource } from '@natlens/shared-cluster';
import type { Principal } from '@natlens/shared-auth';
import type { ImportResult } from '@natlens/shared-model';
import type { Logger } from 'pino';
import { IngestService } from '../ingest/ingest.service';
import { CLUSTER_SOURCE, LOGGER } from '../tokens';
import { loadCaptureImporter } from './capture-importer';
import type { ImportQuery } from './import-query';

export type { ImportResult };

/** Records per ingest transaction: large enough to be cheap, small enough to keep memory flat on a big capture. */
const IMPORT_BATCH = 2000;

/**
 * An uploaded capture or conntrack dump → records of the named node, stored through the ingest service (validated,
 * upserted by (node, flowId), rollups updated, live subscribers told) batch by batch while the upload streams in.
 */
@Injectable()
export class ImportService {
  constructor(
    @Inject(IngestService) private readonly ingest: IngestService,
    @Inject(CLUSTER_SOURCE) private readonly cluster: ClusterMetadataSource | null,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** `principal`: who uploads; a node token may import only its own node's files (403 before anything is read). */
  async importStream(body: AsyncIterable<Buffer>, query: ImportQuery, bytesTotal: number, principal: Principal): Promise<ImportResult> {
    const origin = { via: 'import', principal } as const;
    this.ingest.checkBatchOrigin({ node: query.node, sentAt: Date.now(), records: [] }, origin);
    const importer = await loadCaptureImporter();
    const started = Date.now();
    let inserted = 0;
    try {
      const summary = await importer.importChunks(body, {
        name: query.name,
        node: query.node,
        // the same cluster metadata the evidence uses: without it every record is not-service, as with the CLI
        index: this.cluster?.current() ?? ClusterIndex.empty(),
        bytesTotal,
        format: query.format,
        batchSize: IMPORT_BATCH,
        deliver: async (records) => {
          const result = await this.ingest.ingest({ node: query.node, sentAt: Date.now(), records }, origin);
          inserted += result.inserted;
          return true;
        },
      });
      const result: ImportResult = { ...summary, inserted, durationMs: Date.now() - started };
      this.log.info({ file: result.file, node: result.node, format: result.format, bytes: result.bytes, records: result.records, errors: result.errorCount }, 'import stored');
      return result;
    } catch (err) {
      if (err instanceof importer.ImportTooLargeError) throw new PayloadTooLargeException({ code: 'import-too-large', message: err.message });
      if (err instanceof HttpException) throw err;
      this.log.warn({ err: (err as Error).message, file: query.name, node: query.node }, 'import failed');
      throw new BadRequestException({ code: 'import-failed', message: `the upload could not be imported: ${(err as Error).message}; records stored before this point were kept (importing the file again is safe)` });
    }
  }
}
