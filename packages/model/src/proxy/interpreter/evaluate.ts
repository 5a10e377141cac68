import { KubeNetsimError } from '../../errors.js';
import { ipv4ToInt } from '../../ip/address.js';
import type { Protocol } from '../../api/meta.js';
import type { AddressMatch, IptablesRuleset, Match, Rule } from './ruleset.js';

// Runs one packet literally through a parsed ruleset, hook by hook, as netfilter does for the first packet of a
// connection: every rule that matches is recorded; `statistic` draws are explored branch by branch.

/** The packet and where it is, as the interpreter sees it. */
export interface InterpreterPacket {
  src: string;
  dst: string;
  dport: number;
  /** Defaults to 40000 (any ephemeral port). */
  sport?: number;
  protocol: Protocol;
  /** `prerouting` for packets arriving on an interface (pods, outside), `output` for the node's own. */
  path: 'prerouting' | 'output';
  /** Input interface (`-i`); for arrivals. */
  inInterface?: string;
  /** Output interface (`-o`); default `lo` for local destinations, else `eth0`. */
  outInterface?: string;
  /** Packet mark on entry (default 0). */
  mark?: number;
}

/** Per-node facts the rules consult. */
export interface InterpreterContext {
  /** The node's own addresses (`--dst-type LOCAL`); 127.0.0.0/8 is always local. */
  localAddresses: readonly string[];
  /** `recent` lists: name → source IP → times seen (seconds). Not modified; each run works on a copy. */
  recent?: ReadonlyMap<string, ReadonlyMap<string, readonly number[]>>;
  /** Current time for `recent --seconds`, in seconds. */
  now?: number;
  /** Upper bound on explored statistic branches (default 4096). */
  maxBranches?: number;
}

/** One matched rule in a run. */
export interface MatchedRule {
  rule: Rule;
  /** `-t nat -A KUBE-SERVICES …`: the rule as an iptables command. */
  text: string;
}

/** How one run of the packet ended. */
export interface InterpreterRun {
  /** The statistic draws of this run, in order (true = the rule's random match fired). */
  draws: boolean[];
  matched: MatchedRule[];
  /** Built-in chains whose policy decided (`table/CHAIN`), in order. */
  policies: string[];
  /** `IP:port` after DNAT, when a DNAT rule fired. */
  dnat: string | undefined;
  /** A DROP or REJECT rule, or ACCEPT rule in filter, that decided; undefined when only policies decided. */
  decision: 'ACCEPT' | 'DROP' | 'REJECT' | undefined;
  /** A `-j MASQUERADE` fired, or the packet jumped to `KUBE-MARK-MASQ`. */
  masquerade: boolean;
  /** `--to-source` of an SNAT rule that fired (e.g. the VPC CNI's), if any. */
  snat: string | undefined;
  /** The destination the packet finally had (after DNAT). */
  finalDestination: string;
}

interface State {
  src: string;
  dst: string;
  srcInt: number;
  dstInt: number;
  dport: number;
  sport: number;
  protocol: string;
  mark: number;
  connmark: number;
  dnatted: boolean;
  iif: string | undefined;
  oif: string;
  recent: Map<string, Map<string, number[]>>;
  drawsIn: readonly boolean[];
  draws: boolean[];
  run: InterpreterRun;
}

function addressMatches(m: AddressMatch, ip: number): boolean {
  return m.cidr.containsInt(ip) !== m.negated;
}

const localSets = new WeakMap<readonly string[], Set<string>>();

function isLocal(ip: string, ctx: InterpreterContext): boolean {
  if (ip.startsWith('127.')) return true;
  let set = localSets.get(ctx.localAddresses);
  if (!set) localSets.set(ctx.localAddresses, (set = new Set(ctx.localAddresses)));
  return set.has(ip);
}

function ifaceMatches(pattern: string, name: string | undefined): boolean {
  if (name === undefined) return false;
  return pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

function matchOne(m: Match, s: State, ctx: InterpreterContext): boolean {
  switch (m.kind) {
    case 'source':
      return addressMatches(m.m, s.srcInt);
    case 'destination':
      return addressMatches(m.m, s.dstInt);
    case 'protocol':
      return (m.protocol === 'all' || m.protocol === s.protocol) !== m.negated;
    case 'in-interface':
      return ifaceMatches(m.name, s.iif) !== m.negated;
    case 'out-interface':
      return ifaceMatches(m.name, s.oif) !== m.negated;
    case 'port': {
      const p = m.which === 'dport' ? s.dport : s.sport;
      return (p >= m.from && p <= m.to) !== m.negated;
    }
    case 'multiport': {
      const p = m.which === 'dport' ? s.dport : s.sport;
      return m.ranges.some(([a, b]) => p >= a && p <= b) !== m.negated;
    }
    case 'addrtype': {
      const local = isLocal(m.which === 'dst' ? s.dst : s.src, ctx);
      const has = m.types.some((t) => (t === 'LOCAL' ? local : t === 'UNICAST' ? !local : false));
      return has !== m.negated;
    }
    case 'statistic': {
      const k = s.draws.length;
      const fired = k < s.drawsIn.length ? s.drawsIn[k]! : true;
      s.draws.push(fired);
      return fired;
    }
    case 'recent': {
      const key = m.rdest ? s.dst : s.src;
      let list = s.recent.get(m.name);
      if (m.action === 'set') {
        if (!list) s.recent.set(m.name, (list = new Map()));
        list.set(key, [...(list.get(key) ?? []), ctx.now ?? 0]);
        return !m.negated;
      }
      const seen = list?.get(key) ?? [];
      const now = ctx.now ?? 0;
      const hit = seen.some((t) => m.seconds === undefined || now - t <= m.seconds);
      if (m.action === 'remove' && hit) list!.delete(key);
      if (m.action === 'update' && hit) list!.set(key, [...seen, now]);
      return hit !== m.negated;
    }
    case 'mark':
      return ((s.mark & m.mask) >>> 0 === m.value) !== m.negated;
    case 'connmark':
      return ((s.connmark & m.mask) >>> 0 === m.value) !== m.negated;
    case 'ctstate': {
      const states = new Set(['NEW', ...(s.dnatted ? ['DNAT'] : [])]);
      return m.states.some((st) => states.has(st)) !== m.negated;
    }
    case 'comment':
    case 'nfacct':
      return true;
  }
}

/** Outcome of walking one chain: keep going in the caller, or stop this hook. */
type ChainResult = 'continue' | 'accept' | 'stop';

const MAX_DEPTH = 64;

function walkChain(ruleset: IptablesRuleset, table: string, chainName: string, s: State, ctx: InterpreterContext, depth: number): ChainResult | 'return' {
  if (depth > MAX_DEPTH) {
    throw new KubeNetsimError('E_IPTABLES_LOOP', `Chain jumps nest deeper than ${MAX_DEPTH} in table ${table} at ${chainName}`, {
      hint: 'the ruleset probably jumps in a loop',
    });
  }
  const chain = ruleset.tables.get(table)?.chains.get(chainName);
  if (!chain) return 'continue';
  for (const rule of chain.rules) {
    let ok = true;
    for (const m of rule.matches) {
      if (!matchOne(m, s, ctx)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    s.run.matched.push({ rule, text: rule.command });
    const t = rule.target;
    if (!t) continue;
    switch (t.name) {
      case 'ACCEPT':
        if (table === 'filter') s.run.decision = 'ACCEPT';
        return 'accept';
      case 'DROP':
      case 'REJECT':
        s.run.decision = t.name;
        return 'stop';
      case 'RETURN':
        return 'return';
      case 'DNAT': {
        const to = t.options['--to-destination'] ?? '';
        const [ip, port] = to.split(':');
        if (ip) {
          s.dst = ip;
          s.dstInt = ipv4ToInt(ip);
        }
        if (port) s.dport = Number(port.split('-')[0]);
        s.dnatted = true;
        s.run.dnat = `${s.dst}:${s.dport}`;
        return 'accept';
      }
      case 'SNAT':
        s.run.snat = t.options['--to-source'];
        return 'accept';
      case 'MASQUERADE':
        s.run.masquerade = true;
        return 'accept';
      case 'MARK': {
        const o = t.options;
        if ('--or-mark' in o) s.mark = (s.mark | Number(o['--or-mark'])) >>> 0;
        else if ('--xor-mark' in o) s.mark = (s.mark ^ Number(o['--xor-mark'])) >>> 0;
        else if ('--and-mark' in o) s.mark = (s.mark & Number(o['--and-mark'])) >>> 0;
        else {
          const spec = o['--set-xmark'] ?? o['--set-mark'] ?? '0';
          const [v, mk] = spec.split('/');
          const mask = mk === undefined ? 0xffffffff : Number(mk) >>> 0;
          s.mark = '--set-xmark' in o ? ((s.mark & ~mask) ^ Number(v)) >>> 0 : ((s.mark & ~mask) | Number(v)) >>> 0;
        }
        continue;
      }
      case 'CONNMARK': {
        const o = t.options;
        const nfmask = Number(o['--nfmask'] ?? o['--mask'] ?? 0xffffffff) >>> 0;
        const ctmask = Number(o['--ctmask'] ?? o['--mask'] ?? 0xffffffff) >>> 0;
        if ('--restore-mark' in o) s.mark = ((s.mark & ~nfmask) | (s.connmark & ctmask)) >>> 0;
        else if ('--save-mark' in o) s.connmark = ((s.connmark & ~ctmask) | (s.mark & nfmask)) >>> 0;
        else if ('--set-xmark' in o || '--set-mark' in o) {
          const [v, mk] = (o['--set-xmark'] ?? o['--set-mark'] ?? '0').split('/');
          const mask = mk === undefined ? 0xffffffff : Number(mk) >>> 0;
          s.connmark = ((s.connmark & ~mask) ^ Number(v)) >>> 0;
        }
        continue;
      }
      case 'LOG':
      case 'NFLOG':
        continue;
      default: {
        if (!ruleset.tables.get(table)?.chains.has(t.name)) continue;
        if (t.name === 'KUBE-MARK-MASQ') s.run.masquerade = true;
        const r = walkChain(ruleset, table, t.name, s, ctx, depth + 1);
        if (r === 'accept' || r === 'stop') return r;
        // `-g`: a RETURN in (or the end of) the target chain returns past this chain to its caller.
        if (t.goto) return 'return';
      }
    }
  }
  return 'continue';
}

/** Runs one built-in chain (a hook of one table); returns false when the packet is dropped or rejected. */
function runHook(ruleset: IptablesRuleset, table: string, chain: string, s: State, ctx: InterpreterContext): boolean {
  const builtin = ruleset.tables.get(table)?.chains.get(chain);
  if (!builtin) return true;
  const r = walkChain(ruleset, table, chain, s, ctx, 0);
  if (r === 'stop') return false;
  if (r === 'continue' || r === 'return') {
    s.run.policies.push(`${table}/${chain}`);
    if (builtin.policy === 'DROP') {
      s.run.decision = 'DROP';
      return false;
    }
  }
  return true;
}

function oneRun(ruleset: IptablesRuleset, packet: InterpreterPacket, ctx: InterpreterContext, draws: readonly boolean[]): InterpreterRun {
  const run: InterpreterRun = { draws: [], matched: [], policies: [], dnat: undefined, decision: undefined, masquerade: false, snat: undefined, finalDestination: packet.dst };
  // Each run works on its own copy of the `recent` lists (a run's --set must not leak into another branch).
  const recent = new Map<string, Map<string, number[]>>();
  for (const [name, list] of ctx.recent ?? []) recent.set(name, new Map([...list].map(([ip, times]) => [ip, [...times]])));
  const s: State = {
    src: packet.src,
    dst: packet.dst,
    srcInt: ipv4ToInt(packet.src),
    dstInt: ipv4ToInt(packet.dst),
    dport: packet.dport,
    sport: packet.sport ?? 40000,
    protocol: packet.protocol.toLowerCase(),
    mark: packet.mark ?? 0,
    connmark: 0,
    dnatted: false,
    iif: packet.path === 'prerouting' ? packet.inInterface : undefined,
    oif: packet.outInterface ?? (isLocal(packet.dst, ctx) ? 'lo' : 'eth0'),
    recent,
    drawsIn: draws,
    draws: run.draws,
    run,
  };
  const reroute = () => {
    if (packet.outInterface === undefined) s.oif = isLocal(s.dst, ctx) ? 'lo' : 'eth0';
  };
  const hooks = (list: [string, string][]) => {
    for (const [table, chain] of list) if (!runHook(ruleset, table, chain, s, ctx)) return false;
    return true;
  };
  if (packet.path === 'prerouting') {
    if (hooks([['raw', 'PREROUTING'], ['mangle', 'PREROUTING'], ['nat', 'PREROUTING']])) {
      reroute();
      if (isLocal(s.dst, ctx)) hooks([['mangle', 'INPUT'], ['filter', 'INPUT'], ['nat', 'INPUT']]);
      else hooks([['mangle', 'FORWARD'], ['filter', 'FORWARD'], ['mangle', 'POSTROUTING'], ['nat', 'POSTROUTING']]);
    }
  } else if (hooks([['raw', 'OUTPUT'], ['mangle', 'OUTPUT'], ['nat', 'OUTPUT']])) {
    reroute();
    // A local destination loops back through lo into INPUT (nat is consulted only for the connection's first pass).
    if (hooks([['filter', 'OUTPUT'], ['mangle', 'POSTROUTING'], ['nat', 'POSTROUTING']]) && isLocal(s.dst, ctx)) {
      hooks([['mangle', 'INPUT'], ['filter', 'INPUT']]);
    }
  }
  run.finalDestination = s.dst;
  return run;
}

/**
 * Every way the packet can go: one run per combination of `statistic` draws that the rules reach (for kube-proxy's
 * rules, one run per endpoint, in rule order). Throws `E_IPTABLES_BRANCHES` beyond `ctx.maxBranches`.
 */
export function interpretPacket(ruleset: IptablesRuleset, packet: InterpreterPacket, ctx: InterpreterContext): InterpreterRun[] {
  const runs: InterpreterRun[] = [];
  const pending: boolean[][] = [[]];
  const max = ctx.maxBranches ?? 4096;
  while (pending.length > 0) {
    const prefix = pending.shift()!;
    const run = oneRun(ruleset, packet, ctx, prefix);
    runs.push(run);
    if (runs.length > max) {
      throw new KubeNetsimError('E_IPTABLES_BRANCHES', `More than ${max} statistic branches for one packet`, { hint: 'raise maxBranches' });
    }
    // Each draw beyond the prefix that fired could also have missed: explore that branch next.
    for (let k = run.draws.length - 1; k >= prefix.length; k--) {
      if (run.draws[k]) pending.unshift([...run.draws.slice(0, k), false]);
    }
  }
  return runs;
}

/** Per-rule hit counts of one run (`table/chain/index` → 1): what the kernel's counters show for its first packet. */
export function ruleHits(run: InterpreterRun): Map<string, number> {
  const hits = new Map<string, number>();
  for (const { rule } of run.matched) {
    const key = `${rule.table}/${rule.chain}/${rule.index}`;
    hits.set(key, (hits.get(key) ?? 0) + 1);
  }
  return hits;
}
