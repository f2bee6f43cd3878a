import type { Provider } from '@nestjs/common';
import { ImportController } from './import.controller';
import { ImportService } from './import.service';

/** Uploads of captures and conntrack dumps (the dashboard's Import page; `natlens import` posts records instead). */
export const IMPORT_CONTROLLERS = [ImportController];
export const IMPORT_PROVIDERS: Provider[] = [ImportService];
