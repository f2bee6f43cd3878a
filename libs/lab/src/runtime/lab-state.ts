import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ResolvedLab } from '../topology/addressing';

/*
 * Everything a lab creates is written to its state file *before* it is created, so `lab down` can remove it after
 * a crash at any point. Labs live under /run (tmpfs): network namespaces do not survive a reboot, nor should this.
 */
export function labsRoot(): string {
  return process.env['NATLENS_LAB_DIR'] ?? '/run/natlens/labs';
}

export function labDir(name: string): string {
  return join(labsRoot(), name);
}

export interface LabProcess {
  role: 'echo' | 'health' | 'load-balancer';
  netns: string;
  pid: number;
  /** Which pod, node or service it serves, for logs and status. */
  subject: string;
}

export interface LabState {
  name: string;
  createdAt: string;
  /** The iptables back end (iptables mode only; an nftables-mode node has no iptables rules). */
  iptables: IptablesFlavour;
  /** Whether kube-proxy's nfacct counters could be made in the nodes (iptables mode; its rules count with them). */
  nfacctCounters?: boolean;
  /** Namespaces in creation order; removed in reverse. */
  namespaces: string[];
  processes: LabProcess[];
  lab: ResolvedLab;
  netns: LabNamespaces;
  ready: boolean;
}

export type IptablesFlavour = 'nft' | 'legacy';

export interface LabNamespaces {
  edge: string;
  nodes: Record<string, string>;
  pods: Record<string, string>;
  clients: Record<string, string>;
}

export function statePath(name: string): string {
  return join(labDir(name), 'state.json');
}

export function writeState(state: LabState): void {
  const dir = labDir(state.name);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.state.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, statePath(state.name));
}

export class LabNotFoundError extends Error {
  constructor(readonly labName: string) {
    super(`no lab named "${labName}" (looked for ${statePath(labName)}); \`natlens lab list\` shows the labs on this host`);
    this.name = 'LabNotFoundError';
  }
}

export function readState(name: string): LabState {
  const path = statePath(name);
  if (!existsSync(path)) throw new LabNotFoundError(name);
  return JSON.parse(readFileSync(path, 'utf8')) as LabState;
}

export function listLabs(): string[] {
  if (!existsSync(labsRoot())) return [];
  return readdirSync(labsRoot()).filter((name) => existsSync(statePath(name)));
}

/** Namespace names: `<lab>-<role>[-<name>]`, so every namespace of a lab carries its name as prefix. */
export function namespacesFor(lab: ResolvedLab): LabNamespaces {
  return {
    edge: `${lab.name}-edge`,
    nodes: Object.fromEntries(lab.nodes.map((n) => [n.name, `${lab.name}-node-${n.name}`])),
    pods: Object.fromEntries(lab.pods.map((p) => [`${p.namespace}/${p.name}`, `${lab.name}-pod-${p.namespace}-${p.name}`])),
    clients: Object.fromEntries(lab.clients.map((c) => [c.name, `${lab.name}-client-${c.name}`])),
  };
}
