import { join } from 'node:path';

/*
 * The decode → correlate → enrich code of `natlens import` is the agent's (apps/agent/src/sources/capture-import.ts):
 * the hub runs that very code on an upload, so a file gives the same records through the dashboard as through the
 * CLI. Loaded by path, as the CLI loads it: an app does not import another app's modules.
 */
export type CaptureImporter = typeof import('../../../agent/src/sources/capture-import');

let loaded: Promise<CaptureImporter> | undefined;

export function loadCaptureImporter(): Promise<CaptureImporter> {
  loaded ??= import(join(__dirname, '..', '..', '..', 'agent', 'src', 'sources', 'capture-import')) as Promise<CaptureImporter>;
  return loaded;
}
