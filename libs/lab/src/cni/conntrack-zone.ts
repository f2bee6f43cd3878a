import { runIn } from '../runtime/exec';
import type { IptablesFlavour } from '../runtime/lab-state';

/*
 * A node whose CNI tracks its connections in a conntrack zone other than the default (some CNIs give kube-proxy's
 * entries a zone of their own): every packet the node's namespace receives (from the underlay, from its pods over
 * the bridge, br_netfilter passing bridged packets through the IP hooks) or sends is given zone N before conntrack
 * looks it up, so every connection the node tracks, the Services' ones included, lives in zone N. Kept apart from
 * kube-proxy's rules (its own raw-table rules, or its own nftables table), so it works under either proxy mode.
 *
 * The rule sits at the raw priority (-300), before conntrack (-200): a zone must be chosen before the lookup that it
 * keys, and the replies (which come back into the namespace through the same hooks) are looked up in the same zone.
 */

export type ZoneRuleBackend = 'iptables' | 'nftables';

const COMMENT = (zone: number) => `natlens lab: CNI conntrack zone ${zone}`;

/** The raw table as `iptables-restore` reads it: CT --zone on PREROUTING and OUTPUT. Pure. */
export function renderZoneIptablesRules(zone: number): string {
  return [
    '*raw',
    ':PREROUTING ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    `-A PREROUTING -m comment --comment "${COMMENT(zone)}" -j CT --zone ${zone}`,
    `-A OUTPUT -m comment --comment "${COMMENT(zone)}" -j CT --zone ${zone}`,
    'COMMIT',
    '',
  ].join('\n');
}

/** The table name in nftables mode: a table of its own, beside kube-proxy's `ip kube-proxy`. */
export const ZONE_NFT_TABLE = 'natlens-cni-zone';

/** An `nft -f` file: its own table, `ct zone set N` in base chains at priority raw. Pure. */
export function renderZoneNftRuleset(zone: number): string {
  const chain = (name: string, hook: string) => [
    `\tchain ${name} {`,
    `\t\ttype filter hook ${hook} priority raw; policy accept;`,
    `\t\tct zone set ${zone} comment "${COMMENT(zone)}"`,
    '\t}',
  ];
  return [`table ip ${ZONE_NFT_TABLE} {`, ...chain('prerouting', 'prerouting'), ...chain('output', 'output'), '}', ''].join('\n');
}

/** Puts the node's connections in `zone`; `rulesFile` is written by the caller with the rendered rules. */
export async function applyConntrackZone(netns: string, rulesFile: string, backend: ZoneRuleBackend, flavour: IptablesFlavour): Promise<void> {
  if (backend === 'nftables') await runIn(netns, ['nft', '-f', rulesFile]);
  else await runIn(netns, [flavour === 'legacy' ? 'iptables-legacy-restore' : 'iptables-restore', '--noflush', rulesFile]);
}

export function renderZoneRules(zone: number, backend: ZoneRuleBackend): string {
  return backend === 'nftables' ? renderZoneNftRuleset(zone) : renderZoneIptablesRules(zone);
}
