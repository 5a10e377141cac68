import { type IptablesSyncInput, buildIptablesRestore } from './restore.js';
import { toSaveSyntax } from './save-format.js';

// The node's whole ruleset as `iptables-save` prints it after kube-proxy's first full sync: built-in chains with
// policies and counters, kubelet's and kube-proxy's jumps from the built-in chains (iptablesJumpChains, inserted
// with Prepend, so the last one listed comes first), kube-proxy's chains, and the VPC CNI's rules in place.

/** Rules another agent on the node installs in one table, already in iptables-save syntax. */
export interface ForeignTableRules {
  /** User-defined chains. */
  chains: string[];
  /** `-A CHAIN …` lines in the order the agent appends them. */
  rules: string[];
}

/** The VPC CNI's rules (`cniIptablesRules` from `@kube-netsim/model/cni` returns this shape). */
export interface CniRules {
  nat: ForeignTableRules;
  mangle: ForeignTableRules;
}

/** What `renderIptablesSave` needs beyond one sync's input. */
export interface IptablesSaveInput extends IptablesSyncInput {
  /** The VPC CNI's nat and mangle rules on this node; omit for a node without them. */
  cni?: CniRules;
}

const BUILTIN: Record<'mangle' | 'nat' | 'filter', string[]> = {
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** kube-proxy's jumps from the built-in chains, in iptablesJumpChains order (each one Prepended). */
const KUBE_PROXY_JUMPS: { table: 'filter' | 'nat'; from: string; to: string; comment: string; newOnly: boolean }[] = [
  { table: 'filter', to: 'KUBE-EXTERNAL-SERVICES', from: 'INPUT', comment: 'kubernetes externally-visible service portals', newOnly: true },
  { table: 'filter', to: 'KUBE-EXTERNAL-SERVICES', from: 'FORWARD', comment: 'kubernetes externally-visible service portals', newOnly: true },
  { table: 'filter', to: 'KUBE-NODEPORTS', from: 'INPUT', comment: 'kubernetes health check service ports', newOnly: false },
  { table: 'filter', to: 'KUBE-SERVICES', from: 'FORWARD', comment: 'kubernetes service portals', newOnly: true },
  { table: 'filter', to: 'KUBE-SERVICES', from: 'OUTPUT', comment: 'kubernetes service portals', newOnly: true },
  { table: 'filter', to: 'KUBE-FORWARD', from: 'FORWARD', comment: 'kubernetes forwarding rules', newOnly: false },
  { table: 'filter', to: 'KUBE-PROXY-FIREWALL', from: 'INPUT', comment: 'kubernetes load balancer firewall', newOnly: true },
  { table: 'filter', to: 'KUBE-PROXY-FIREWALL', from: 'OUTPUT', comment: 'kubernetes load balancer firewall', newOnly: true },
  { table: 'filter', to: 'KUBE-PROXY-FIREWALL', from: 'FORWARD', comment: 'kubernetes load balancer firewall', newOnly: true },
  { table: 'nat', to: 'KUBE-SERVICES', from: 'OUTPUT', comment: 'kubernetes service portals', newOnly: false },
  { table: 'nat', to: 'KUBE-SERVICES', from: 'PREROUTING', comment: 'kubernetes service portals', newOnly: false },
  { table: 'nat', to: 'KUBE-POSTROUTING', from: 'POSTROUTING', comment: 'kubernetes postrouting rules', newOnly: false },
];

const KUBELET_FIREWALL_RULE =
  '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP';

interface SaveTable {
  chains: Set<string>;
  rules: Map<string, string[]>;
}

function chainOf(rule: string): string {
  return rule.split(' ')[1]!;
}

/**
 * The tables of the node's ruleset (`mangle`, `filter`, `nat`), each as chain → rules in iptables-save syntax.
 * Order of agents: kubelet (KUBE-FIREWALL, canaries) at boot, kube-proxy's jumps Prepended before the CNI's
 * appended rules, then kube-proxy's restore.
 */
export function buildIptablesSave(input: IptablesSaveInput): Map<'mangle' | 'nat' | 'filter', SaveTable> {
  // iptables-nft-save prints its tables in a fixed order (raw, mangle, filter, security, nat); iptables-legacy-save in
  // the order the kernel registered them, which varies. The nft order is the one every current EKS AMI shows.
  const tables = new Map<'mangle' | 'nat' | 'filter', SaveTable>();
  for (const name of ['mangle', 'filter', 'nat'] as const) {
    tables.set(name, { chains: new Set(), rules: new Map(BUILTIN[name].map((c) => [c, []])) });
  }
  const add = (table: 'mangle' | 'nat' | 'filter', rule: string, prepend = false) => {
    const t = tables.get(table)!;
    const chain = chainOf(rule);
    const list = t.rules.get(chain) ?? [];
    if (prepend) list.unshift(rule);
    else list.push(rule);
    t.rules.set(chain, list);
  };
  const declare = (table: 'mangle' | 'nat' | 'filter', chain: string) => {
    const t = tables.get(table)!;
    t.chains.add(chain);
    if (!t.rules.has(chain)) t.rules.set(chain, []);
  };

  // kubelet: iptables hint and canaries, and its copy of the anti-martian rule (IPv4).
  declare('mangle', 'KUBE-IPTABLES-HINT');
  for (const t of ['mangle', 'nat', 'filter'] as const) declare(t, 'KUBE-KUBELET-CANARY');
  declare('filter', 'KUBE-FIREWALL');
  add('filter', KUBELET_FIREWALL_RULE);
  add('filter', '-A INPUT -j KUBE-FIREWALL');
  add('filter', '-A OUTPUT -j KUBE-FIREWALL');

  // The VPC CNI (aws-node) appends its rules.
  if (input.cni) {
    for (const t of ['nat', 'mangle'] as const) {
      for (const c of input.cni[t].chains) declare(t, c);
      for (const r of input.cni[t].rules) add(t, r);
    }
  }

  // kube-proxy: canaries, jumps (Prepend), then the restore of its own chains (which flushes and refills them).
  for (const t of ['mangle', 'nat', 'filter'] as const) declare(t, 'KUBE-PROXY-CANARY');
  for (const j of KUBE_PROXY_JUMPS) {
    declare(j.table, j.to);
    const ct = j.newOnly ? '-m conntrack --ctstate NEW ' : '';
    add(j.table, `-A ${j.from} ${ct}-m comment --comment "${j.comment}" -j ${j.to}`, true);
  }
  for (const restore of buildIptablesRestore(input)) {
    const t = tables.get(restore.name)!;
    for (const c of restore.chains) {
      declare(restore.name, c);
      t.rules.set(c, []);
    }
    for (const line of restore.rules) {
      if (line.startsWith('-X ')) {
        const c = line.slice(3);
        t.chains.delete(c);
        t.rules.delete(c);
      } else add(restore.name, toSaveSyntax(line));
    }
  }
  return tables;
}

/**
 * One table as `iptables-save` prints it: the built-in chains with policy ACCEPT, then user chains by name, each
 * chain's rules in the order they were appended; counters `[0:0]`. `rules` are `-A CHAIN …` lines in any chain order.
 */
export function printSaveTable(name: 'mangle' | 'nat' | 'filter', chains: Iterable<string>, rules: Iterable<string>): string {
  const byChain = new Map<string, string[]>();
  for (const r of rules) {
    const c = chainOf(r);
    byChain.set(c, [...(byChain.get(c) ?? []), r]);
  }
  const user = [...new Set([...chains, ...byChain.keys()])].filter((c) => !BUILTIN[name].includes(c)).sort();
  let out = `*${name}\n`;
  for (const c of BUILTIN[name]) out += `:${c} ACCEPT [0:0]\n`;
  for (const c of user) out += `:${c} - [0:0]\n`;
  for (const c of [...BUILTIN[name], ...user]) for (const r of byChain.get(c) ?? []) out += `${r}\n`;
  return `${out}COMMIT\n`;
}

/** The node's full ruleset as `iptables-save` (nf_tables backend) prints it: mangle, filter, nat; counters `[0:0]`. */
export function renderIptablesSave(input: IptablesSaveInput): string {
  let out = '';
  for (const [name, t] of buildIptablesSave(input)) out += printSaveTable(name, t.chains, [...t.rules.values()].flat());
  return out;
}
