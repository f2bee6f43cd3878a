import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The natlens checkout or installation this code runs from (the folder with bin/natlens): the same from the
 * sources (apps/cli/src/…) and from the compiled build (dist/apps/cli/main.js).
 */
export function installRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'natlens'))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find bin/natlens above ${from}: is natlens installed whole?`);
  }
}
