import { readFileSync, writeFileSync } from 'node:fs';

/*
 * The conntrack sysctls the agent depends on, read in the agent's own network namespace (/proc/sys/net follows the
 * reading process's namespace).
 * - nf_conntrack_acct: per-direction packet and byte counters (CTA_COUNTERS_*); off by default.
 * - nf_conntrack_timestamp: start and stop times (CTA_TIMESTAMP); off by default.
 * - nf_conntrack_events: 1 = events for every connection; 2 (the default) = only for connections created while a
 *   listener existed, so a connection older than the agent never reports its end.
 */
export const CONNTRACK_SETTINGS = ['nf_conntrack_acct', 'nf_conntrack_timestamp', 'nf_conntrack_events'] as const;
export type ConntrackSetting = (typeof CONNTRACK_SETTINGS)[number];

const path = (setting: ConntrackSetting) => `/proc/sys/net/netfilter/${setting}`;

export class KernelSettingsRepository {
  read(setting: ConntrackSetting): number | undefined {
    try {
      return Number(readFileSync(path(setting), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  write(setting: ConntrackSetting, value: number): void {
    writeFileSync(path(setting), `${value}\n`);
  }
}

export interface AccountingReport {
  counters: boolean;
  timestamps: boolean;
  eventsForAll: boolean;
  changed: string[];
  problems: string[];
}

/** Reports the settings and, when asked (--enable-accounting), turns them on. */
export function ensureAccounting(repo: KernelSettingsRepository, enable: boolean): AccountingReport {
  const changed: string[] = [];
  const problems: string[] = [];
  const want: Record<ConntrackSetting, number> = { nf_conntrack_acct: 1, nf_conntrack_timestamp: 1, nf_conntrack_events: 1 };
  for (const setting of CONNTRACK_SETTINGS) {
    const value = repo.read(setting);
    if (value === want[setting] || !enable) continue;
    try {
      repo.write(setting, want[setting]);
      changed.push(`${setting}=${want[setting]}`);
    } catch (err) {
      problems.push(`cannot set ${setting}: ${(err as Error).message} (needs CAP_NET_ADMIN in the node's network namespace)`);
    }
  }
  return {
    counters: repo.read('nf_conntrack_acct') === 1,
    timestamps: repo.read('nf_conntrack_timestamp') === 1,
    eventsForAll: repo.read('nf_conntrack_events') === 1,
    changed,
    problems,
  };
}
