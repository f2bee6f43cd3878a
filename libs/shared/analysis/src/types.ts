export type { Verdict } from '@natlens/shared-model';
export type ClientKind = 'external' | 'pod' | 'node';
