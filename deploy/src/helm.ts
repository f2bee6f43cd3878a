import { execFileSync, spawn, spawnSync } from 'node:child_process';
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

function helmEnv(): NodeJS.ProcessEnv {
  return { ...process.env, HELM_CACHE_HOME: join(tmpdir(), 'natlens-helm-cache'), HELM_CONFIG_HOME: join(tmpdir(), 'natlens-helm-config') };
}

export function helm(args: string[]): HelmResult {
  const result = spawnSync(helmBinary(), args, { encoding: 'utf8', env: helmEnv() });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export function helmLint(values: Values): HelmResult {
  return withValuesFile(values, (file) => helm(['lint', '--strict', '--kube-version', KUBE_VERSION, '-f', file, CHART_DIR]));
}

/** `helm template` of release `natlens` in namespace `natlens`; throws with helm's message when it refuses. */
export function helmTemplate(values: Values, options: { release?: string; namespace?: string } = {}): KubeObject[] {
  const result = withValuesFile(values, (file) => helm([...templateArgs(file, options), '--kube-version', KUBE_VERSION]));
  return renderedObjects(result);
}

/**
 * `helm template` as `helm upgrade` renders, against an API server (`apiUrl`): `lookup` reads it. Asynchronous, so
 * an API server in this process keeps answering while helm runs.
 */
export async function helmTemplateUpgrade(values: Values, apiUrl: string, options: { release?: string; namespace?: string } = {}): Promise<KubeObject[]> {
  const dir = mkdtempSync(join(tmpdir(), 'natlens-chart-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server: apiUrl } }],
        users: [{ name: 'test', user: { token: 'test' } }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'test' } }],
        'current-context': 'test',
      }),
    );
    // the test's API server serves discovery and Secrets, not the OpenAPI documents helm would validate against
    const args = [...templateArgs(file, options), '--kubeconfig', kubeconfig, '--dry-run=server', '--is-upgrade', '--disable-openapi-validation'];
    const child = spawn(helmBinary(), args, { env: helmEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const status = await new Promise<number>((resolve, reject) => child.once('error', reject).once('close', (code) => resolve(code ?? -1)));
    return renderedObjects({ status, stdout, stderr });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function templateArgs(valuesFile: string, options: { release?: string; namespace?: string }): string[] {
  return ['template', options.release ?? 'natlens', CHART_DIR, '--namespace', options.namespace ?? 'natlens', '-f', valuesFile];
}

function renderedObjects(result: HelmResult): KubeObject[] {
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
