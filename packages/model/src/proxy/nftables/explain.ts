import { CIDR } from '../../ip/cidr.js';
import type { Explanation, ProxyPacket } from '../explain-types.js';
import { nftRuleText } from './print.js';
import type { NftMapElement, NftMatch, NftRule, NftRuleset, NftVerdict } from './ruleset.js';

// Walks kube-proxy's nftables structure for the first packet of a connection, hook by hook, the way netfilter
// runs the base chains: the same structure `printNftablesRuleset` prints, so an answer names printed lines.

/** Options of `explainNftables`. */
export interface NftablesExplainOptions {
  /**
   * Take only the `numgen` branch that DNATs to this endpoint (`IP:port`), as a connection that the kernel sent
   * there did; without it every branch is followed and `possibleEndpoints` lists them all.
   */
  forceEndpoint?: string;
}

const LOOPBACK = CIDR.parse('127.0.0.0/8');

/** Hash indexes of a ruleset's sets and maps, so a lookup costs what it costs the kernel: O(1), not a scan. */
interface RulesetIndex {
  sets: Map<string, Set<string>>;
  maps: Map<string, Map<string, NftMapElement>>;
}

const indexes = new WeakMap<NftRuleset, RulesetIndex>();

/** The index of `rs`, built on first use; rebuild by passing a new ruleset (the structure is not watched). */
function indexOf(rs: NftRuleset): RulesetIndex {
  let ix = indexes.get(rs);
  if (!ix) {
    ix = { sets: new Map(), maps: new Map() };
    for (const s of rs.sets.values()) ix.sets.set(s.name, new Set(s.elements));
    for (const m of rs.maps.values()) ix.maps.set(m.name, new Map(m.elements.map((e) => [e.key.join(' . '), e])));
    indexes.set(rs, ix);
  }
  return ix;
}

interface Walk {
  /** The destination the rules currently see (rewritten by DNAT). */
  daddr: string;
  dport: number;
  mark: number;
  /** Index of the numgen branch to take; -1 = discover. */
  choice: number;
  /** Number of branches of the numgen met on this walk (0 if none). */
  branches: number;
  dnat: string | undefined;
  masquerade: boolean;
  rules: string[];
}

type ChainResult = 'continue' | 'accept' | 'drop' | 'reject';

class Evaluator {
  private readonly local: Set<string>;
  private readonly index: RulesetIndex;
  constructor(
    private readonly rs: NftRuleset,
    private readonly packet: ProxyPacket,
    localAddresses: readonly string[],
  ) {
    this.local = new Set(localAddresses);
    this.index = indexOf(rs);
  }

  isLocal(ip: string): boolean {
    return this.local.has(ip) || LOOPBACK.contains(ip);
  }

  private line(chain: string, rule: NftRule): string {
    return `add rule ${this.rs.family} ${this.rs.table} ${chain} ${nftRuleText(rule)}`;
  }

  private elementLine(map: string, e: NftMapElement): string {
    const comment = e.comment === undefined ? '' : ` comment ${JSON.stringify(e.comment)}`;
    const v = e.value.type === 'jump' || e.value.type === 'goto' ? `${e.value.type} ${e.value.chain}` : e.value.type;
    return `add element ${this.rs.family} ${this.rs.table} ${map} { ${e.key.join(' . ')}${comment} : ${v} }`;
  }

  private addressMatches(ip: string, value: string): boolean {
    return value.includes('/') ? CIDR.parse(value).contains(ip) : ip === value;
  }

  private matches(m: NftMatch, w: Walk): boolean {
    const field = (f: 'saddr' | 'daddr') => (f === 'saddr' ? this.packet.from : w.daddr);
    switch (m.type) {
      case 'ct-state-new':
        return true; // the first packet of a connection
      case 'address':
        return this.addressMatches(field(m.field), m.value) !== m.negate;
      case 'address-list':
        return m.values.some((v) => this.addressMatches(field(m.field), v)) !== m.negate;
      case 'address-in-set':
        // Affinity sets start empty: a static explanation has no earlier connection to stick to.
        return this.index.sets.get(m.set)?.has(field(m.field)) ?? false;
      case 'fib-local':
        return this.isLocal(field(m.field));
      case 'mark-unset':
        return (w.mark & m.mark) === 0;
    }
  }

  private lookup(map: string, key: string[]): NftMapElement | undefined {
    return this.index.maps.get(map)?.get(key.join(' . '));
  }

  private verdict(v: NftVerdict, w: Walk, depth: number): ChainResult | 'return' | 'next' {
    switch (v.type) {
      case 'drop':
      case 'reject':
        return v.type;
      case 'return':
        return 'return';
      case 'jump': {
        const r = this.run(v.chain, w, depth + 1);
        return r === 'continue' ? 'next' : r;
      }
      case 'goto':
        return this.run(v.chain, w, depth + 1);
    }
  }

  /** Runs one chain; `continue` means it fell off its end or returned. */
  run(chain: string, w: Walk, depth = 0): ChainResult {
    const c = this.rs.chains.get(chain);
    if (!c || depth > 64) return 'continue';
    for (const r of c.rules) {
      if (!r.matches.every((m) => this.matches(m, w))) continue;
      const s = r.statement;
      let outcome: ChainResult | 'return' | 'next' = 'next';
      switch (s.type) {
        case 'verdict':
          w.rules.push(this.line(chain, r));
          outcome = this.verdict(s.verdict, w, depth);
          break;
        case 'vmap': {
          const proto = this.packet.protocol.toLowerCase();
          const key = s.key === 'daddr . l4proto . dport' ? [w.daddr, proto, String(w.dport)] : [proto, String(w.dport)];
          const e = this.lookup(s.map, key);
          if (!e) break;
          w.rules.push(this.line(chain, r), this.elementLine(s.map, e));
          outcome = this.verdict(e.value, w, depth);
          break;
        }
        case 'numgen': {
          w.rules.push(this.line(chain, r));
          w.branches = s.chains.length;
          const target = s.chains[Math.max(0, w.choice)];
          outcome = target === undefined ? 'next' : this.verdict({ type: 'goto', chain: target }, w, depth);
          break;
        }
        case 'mark-or':
          w.rules.push(this.line(chain, r));
          w.mark |= s.mark;
          break;
        case 'mark-xor':
          w.rules.push(this.line(chain, r));
          w.mark ^= s.mark;
          break;
        case 'masquerade':
          w.rules.push(this.line(chain, r));
          w.masquerade = true;
          outcome = 'accept';
          break;
        case 'update-set':
          w.rules.push(this.line(chain, r));
          break;
        case 'dnat':
          w.rules.push(this.line(chain, r));
          w.dnat = `${s.ip}:${s.port}`;
          w.daddr = s.ip;
          w.dport = s.port;
          outcome = 'accept';
          break;
      }
      if (outcome === 'return') return 'continue';
      if (outcome !== 'next') return outcome;
    }
    return 'continue';
  }
}

type Final = 'DNAT' | 'DROP' | 'REJECT' | 'NONE';

function walkHooks(ev: Evaluator, packet: ProxyPacket, arrival: 'pod' | 'host' | 'external', w: Walk): Final {
  const stop = (r: ChainResult): Final | undefined => (r === 'drop' ? 'DROP' : r === 'reject' ? 'REJECT' : undefined);
  const out = arrival === 'host';
  const pre = stop(ev.run(out ? 'filter-output-pre-dnat' : 'filter-prerouting-pre-dnat', w));
  if (pre) return pre;
  ev.run(out ? 'nat-output' : 'nat-prerouting', w);
  // Filter chains at priority 0 run after DNAT: they see the translated destination.
  if (out) {
    const o = stop(ev.run('filter-output', w));
    if (o) return o;
    // A locally generated packet to a local address comes back in through the input hook.
    if (ev.isLocal(w.daddr)) {
      const i = stop(ev.run('filter-input', w));
      if (i) return i;
    }
  } else {
    const f = stop(ev.run(ev.isLocal(w.daddr) ? 'filter-input' : 'filter-forward', w));
    if (f) return f;
  }
  ev.run('nat-postrouting', w);
  return w.dnat !== undefined ? 'DNAT' : 'NONE';
}

/**
 * What kube-proxy's nftables table does with the first packet of a connection on a node whose local addresses
 * are `localAddresses` (for `fib … type local` and the input/forward choice). Every `numgen` branch is followed
 * (or only `forceEndpoint`'s); `masquerade` is true when some followed branch reaches `masquerade`.
 * ClientIP affinity sets are taken as empty (no earlier connection). Set and map lookups are hashed; the index is
 * built on the first call for a ruleset object, so change a ruleset by building a new one.
 */
export function explainNftables(rs: NftRuleset, packet: ProxyPacket, localAddresses: readonly string[], options: NftablesExplainOptions = {}): Explanation {
  const ev = new Evaluator(rs, packet, localAddresses);
  const arrival = packet.arrival ?? (ev.isLocal(packet.from) ? 'host' : 'pod');
  const walkOnce = (choice: number) => {
    const w: Walk = { daddr: packet.to, dport: packet.port, mark: 0, choice, branches: 0, dnat: undefined, masquerade: false, rules: [] };
    return { w, final: walkHooks(ev, packet, arrival, w) };
  };
  const first = walkOnce(0);
  const walks = [first];
  for (let i = 1; i < first.w.branches; i++) walks.push(walkOnce(i));
  const chosen = options.forceEndpoint === undefined ? walks : walks.filter((x) => x.w.dnat === options.forceEndpoint);
  const taken = chosen.length > 0 ? chosen : walks;

  const rules: string[] = [];
  const seen = new Set<string>();
  for (const x of taken) for (const r of x.w.rules) if (!seen.has(r)) (seen.add(r), rules.push(r));
  const dnats = taken.filter((x) => x.final === 'DNAT');
  const verdict = dnats.length > 0 ? 'DNAT' : (taken[0]?.final ?? 'NONE');
  const possibleEndpoints = [...new Set(dnats.map((x) => x.w.dnat!))];
  return { verdict, possibleEndpoints, masquerade: taken.some((x) => x.w.masquerade), rules };
}
