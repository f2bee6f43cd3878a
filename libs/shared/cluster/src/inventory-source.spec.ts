import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterIndex } from './cluster-index';
import { InventoryError } from './inventory-parse';
import { InventoryFileSource, type InventoryFileSourceOptions } from './inventory-source';
import { LAB_SEEDS_INVENTORY } from './testing/inventory-fixtures';
import { waitFor } from './testing/wait-for';

const labText = readFileSync(LAB_SEEDS_INVENTORY, 'utf8');

/** The lab inventory with the web Service's ClusterIP moved, so a reload is visible in lookups. */
function labWithWebClusterIP(clusterIP: string): string {
  const list = JSON.parse(labText) as { items: { kind: string; metadata: { name: string }; spec: Record<string, unknown> }[] };
  const web = list.items.find((i) => i.kind === 'Service' && i.metadata.name === 'web');
  if (web === undefined) throw new Error('the lab inventory lost default/web');
  web.spec['clusterIP'] = clusterIP;
  web.spec['clusterIPs'] = [clusterIP];
  return JSON.stringify(list);
}

function webAt(index: ClusterIndex, clusterIP: string): string | undefined {
  return index.serviceFrontend(clusterIP, 80, 'tcp')?.name;
}

describe('InventoryFileSource', () => {
  let dir: string;
  let file: string;
  let sut: InventoryFileSource | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'natlens-inventory-'));
    file = join(dir, 'inventory.json');
  });

  afterEach(async () => {
    await sut?.stop();
    sut = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  function start(options: Partial<InventoryFileSourceOptions> = {}): Promise<void> {
    sut = new InventoryFileSource({ file, pollIntervalMs: 0, debounceMs: 20, ...options });
    return sut.start();
  }

  it('builds the index from the file at start', async () => {
    writeFileSync(file, labText);
    await start();
    expect(sut?.current().serviceFrontend('198.18.255.10', 80, 'tcp')?.name).toBe('web');
    expect(sut?.status()).toMatchObject({ ready: true, invalidObjects: 0 });
    expect(sut?.status().lastError).toBeUndefined();
  });

  it.each([
    ['is missing', undefined, /inventory .*inventory\.json: \(top level\): cannot read the file \(ENOENT\)/],
    ['is invalid', '{"apiVersion":"v1","kind":"List","items":[{"kind":"Pod","metadata":{"name":"p"},"status":{"podIP":7}}]}', /items\[0\]\.status\.podIP \(Pod p\): expected string, received number/],
  ])('refuses to start when the file %s', async (_case, content, message) => {
    if (content !== undefined) writeFileSync(file, content);
    const started = start();
    await expect(started).rejects.toBeInstanceOf(InventoryError);
    await expect(started).rejects.toThrow(message);
    expect(sut?.status().ready).toBe(false);
  });

  it.each<[string, (target: string, text: string) => void]>([
    ['written in place', (target, text) => writeFileSync(target, text)],
    [
      'replaced by rename (kubectl > tmp && mv)',
      (target, text) => {
        writeFileSync(`${target}.tmp`, text);
        renameSync(`${target}.tmp`, target);
      },
    ],
  ])('reloads and notifies when the file is %s', async (_case, replace) => {
    writeFileSync(file, labText);
    await start();
    const seen: ClusterIndex[] = [];
    sut?.onChange((index) => seen.push(index));
    replace(file, labWithWebClusterIP('198.18.255.50'));
    await waitFor(() => seen.length > 0, 'a new index');
    expect(webAt(seen[0] as ClusterIndex, '198.18.255.50')).toBe('web');
    expect(sut?.current()).toBe(seen[0]);
    // A second replace proves the watch survived the first (a watch on the replaced inode would not).
    replace(file, labWithWebClusterIP('198.18.255.51'));
    await waitFor(() => sut && webAt(sut.current(), '198.18.255.51'), 'the second reload');
    expect(webAt(sut?.current() as ClusterIndex, '198.18.255.50')).toBeUndefined();
  });

  it('keeps the previous index when a reload is invalid, reports why, and recovers', async () => {
    writeFileSync(file, labText);
    await start();
    const before = sut?.current();
    const seen: ClusterIndex[] = [];
    sut?.onChange((index) => seen.push(index));
    writeFileSync(file, labText.replace('"port": 80', '"port": 0'));
    const error = await waitFor(() => sut?.status().lastError, 'the reload error');
    expect(error).toMatch(/inventory .*inventory\.json: items\[8\]\.spec\.ports\[0\]\.port \(Service default\/web\): expected number to be >=1, got 0/);
    expect(sut?.current()).toBe(before);
    expect(seen).toHaveLength(0);
    writeFileSync(file, labWithWebClusterIP('198.18.255.60'));
    await waitFor(() => seen.length > 0, 'recovery');
    expect(webAt(seen[0] as ClusterIndex, '198.18.255.60')).toBe('web');
    expect(sut?.status().lastError).toBeUndefined();
  });

  it('keeps the previous index while the file is briefly missing', async () => {
    writeFileSync(file, labText);
    await start();
    const before = sut?.current();
    rmSync(file);
    await waitFor(() => sut?.status().lastError?.includes('ENOENT'), 'the missing-file error');
    expect(sut?.current()).toBe(before);
    writeFileSync(file, labWithWebClusterIP('198.18.255.61'));
    await waitFor(() => sut && webAt(sut.current(), '198.18.255.61'), 'the reload after the file came back');
  });

  it('follows a ConfigMap volume update (the ..data symlink swap)', async () => {
    // The kubelet's atomic writer: FILE -> ..data/FILE, ..data -> ..<timestamp>; an update writes a new
    // timestamped directory and renames a fresh ..data_tmp symlink over ..data.
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'inventory.json'), labText);
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'inventory.json'), file);
    await start();
    expect(sut?.current().node('198.18.0.11')).toBe('node1');
    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'inventory.json'), labWithWebClusterIP('198.18.255.70'));
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await waitFor(() => sut && webAt(sut.current(), '198.18.255.70'), 'the reload after the symlink swap');
  });

  it('notices changes by polling alone when fs events are off', async () => {
    writeFileSync(file, labText);
    await start({ watchEvents: false, pollIntervalMs: 25 });
    writeFileSync(file, labWithWebClusterIP('198.18.255.80'));
    await waitFor(() => sut && webAt(sut.current(), '198.18.255.80'), 'the polled reload');
  });

  it('does not rebuild when the file is rewritten with the same content', async () => {
    writeFileSync(file, labText);
    await start({ pollIntervalMs: 25 });
    const seen: ClusterIndex[] = [];
    sut?.onChange((index) => seen.push(index));
    writeFileSync(`${file}.tmp`, labText);
    renameSync(`${file}.tmp`, file);
    // Proving that nothing happens needs a pause: many debounce and poll periods (20 and 25 ms).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen).toHaveLength(0);
    writeFileSync(file, labWithWebClusterIP('198.18.255.90'));
    await waitFor(() => seen.length > 0, 'the real change');
  });

  it('survives a listener that throws', async () => {
    writeFileSync(file, labText);
    await start();
    const seen: ClusterIndex[] = [];
    sut?.onChange(() => {
      throw new Error('listener bug');
    });
    sut?.onChange((index) => seen.push(index));
    writeFileSync(file, labWithWebClusterIP('198.18.255.91'));
    await waitFor(() => seen.length > 0, 'the second listener');
  });

  it('stops notifying after unsubscribe and after stop', async () => {
    writeFileSync(file, labText);
    await start({ pollIntervalMs: 25 });
    const unsubscribed: ClusterIndex[] = [];
    const unsubscribe = sut?.onChange((index) => unsubscribed.push(index));
    unsubscribe?.();
    const seen: ClusterIndex[] = [];
    sut?.onChange((index) => seen.push(index));
    writeFileSync(file, labWithWebClusterIP('198.18.255.92'));
    await waitFor(() => seen.length > 0, 'the change');
    expect(unsubscribed).toHaveLength(0);
    await sut?.stop();
    const last = sut?.current();
    writeFileSync(file, labWithWebClusterIP('198.18.255.93'));
    // The poll interval is 25 ms: ten of them without a reload show the source is stopped.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(sut?.current()).toBe(last);
    expect(seen).toHaveLength(1);
  });
});
