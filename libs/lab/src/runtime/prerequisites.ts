import { run } from './exec';
import { ProxyMode } from '../topology/topology.schema';
import { IptablesFlavour } from './lab-state';

/** Fails early, with the fix, when the lab cannot work here. */
export async function checkPrerequisites(flavour: IptablesFlavour, mode: ProxyMode = 'iptables'): Promise<void> {
  const problems: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    problems.push('the lab creates network namespaces: run as root (sudo)');
  }
  const tools: [string, string][] = [
    ['ip', 'iproute2'],
    mode === 'nftables' ? ['nft', 'nftables'] : [flavour === 'legacy' ? 'iptables-legacy-restore' : 'iptables-restore', 'iptables'],
    ['sysctl', 'procps'],
  ];
  for (const [tool, pkg] of tools) {
    await run(['sh', '-c', `command -v ${tool}`]).catch(() => problems.push(`${tool} is missing: apt-get install -y ${pkg}`));
  }
  if (problems.length > 0) throw new Error(`the lab cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}
