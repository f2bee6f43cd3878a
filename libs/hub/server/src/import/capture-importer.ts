/*
 * The decode → correlate → enrich code of `natlens import` is @natlens/agent-records: the hub runs that very code on
 * an upload, so a file gives the same records through the dashboard as through the CLI. Loaded on the first upload.
 */
export type CaptureImporter = typeof import('@natlens/agent-records');

let loaded: Promise<CaptureImporter> | undefined;

export function loadCaptureImporter(): Promise<CaptureImporter> {
  loaded ??= import('@natlens/agent-records');
  return loaded;
}
