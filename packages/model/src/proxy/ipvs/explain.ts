import { CIDR } from '../../ip/cidr.js';
import type { Explanation, ProxyPacket } from '../explain-types.js';
import { ipvsRealServerLine, ipvsVirtualServerLine } from './print.js';
import type { IpvsIptablesRule, IpvsNodeState, IpvsRuleMatch, IpvsVirtualServer } from './state.js';

// What a node in ipvs mode does with the first packet of a connection: kube-proxy's iptables rules (nat
// PREROUTING/OUTPUT, filter INPUT/FORWARD/OUTPUT), then IPVS (LOCAL_IN for arriving packets, LOCAL_OUT for the
// node's own), then nat POSTROUTING, rule by rule over the same state the printers print.

/** Options of `explainIpvs`. */
export interface IpvsExplainOptions {
  /** Follow only the real server `IP:port` (as the scheduler picked it); otherwise all of them. */
  forceEndpoint?: string;
}

const LOOPBACK = CIDR.parse('127.0.0.0/8');

/** Hashed virtual servers and ipset entries of a state (built on first use; build a new state to change it). */
interface StateIndex {
  virtualServers: Map<string, IpvsVirtualServer>;
  sets: Map<string, Set<string>>;
}

const indexes = new WeakMap<IpvsNodeState, StateIndex>();

function indexOf(state: IpvsNodeState): StateIndex {
  let ix = indexes.get(state);
  if (!ix) {
    ix = {
      virtualServers: new Map(state.virtualServers.map((vs) => [`${vs.protocol} ${vs.address}:${vs.port}`, vs])),
      sets: new Map([...state.ipsets.values()].map((s) => [s.name, new Set(s.entries)])),
    };
    indexes.set(state, ix);
  }
  return ix;
}

type Result = 'continue' | 'accept' | 'drop' | 'reject';

interface Walk {
  dst: string;
  dport: number;
  mark: number;
  masquerade: boolean;
  rules: string[];
}

/**
 * The addresses that are local on a node in ipvs mode: its own addresses, loopback, and every address bound to
 * kube-ipvs0 — ClusterIPs included, so `--dst-type LOCAL` and `fib daddr type local` are true for them there.
 */
export function ipvsLocalAddresses(state: IpvsNodeState, nodeAddresses: readonly string[]): Set<string> {
  return new Set([...nodeAddresses, '127.0.0.1', ...state.boundAddresses]);
}

class IpvsEvaluator {
  private readonly byChain = new Map<string, IpvsIptablesRule[]>();
  private readonly index: StateIndex;
  constructor(
    private readonly state: IpvsNodeState,
    private readonly packet: ProxyPacket,
    private readonly local: Set<string>,
  ) {
    this.index = indexOf(state);
    for (const r of state.rules) this.push(`${r.table}/${r.chain}`, r);
    // kube-proxy inserts each jump at the top of its built-in chain, so the last one listed ends up first.
    for (const r of [...state.jumpRules].reverse()) this.push(`${r.table}/${r.chain}`, r);
  }

  private push(key: string, r: IpvsIptablesRule): void {
    const list = this.byChain.get(key);
    if (list) list.push(r);
    else this.byChain.set(key, [r]);
  }

  isLocal(ip: string): boolean {
    return this.local.has(ip) || LOOPBACK.contains(ip);
  }

  private inSet(name: string, dirs: string, w: Walk): boolean {
    const set = this.state.ipsets.get(name);
    const entries = this.index.sets.get(name);
    if (!set || !entries) return false;
    const proto = this.packet.protocol.toLowerCase();
    const { from } = this.packet;
    switch (set.type) {
      case 'bitmap:port':
        return entries.has(String(w.dport));
      case 'hash:ip':
        return entries.has(dirs.startsWith('src') ? from : w.dst);
      case 'hash:ip,port':
        return entries.has(`${dirs.startsWith('src') ? from : w.dst},${proto}:${w.dport}`);
      case 'hash:ip,port,ip':
        return entries.has(`${w.dst},${proto}:${w.dport},${from}`);
      case 'hash:ip,port,net': {
        const prefix = `${w.dst},${proto}:${w.dport},`;
        return set.entries.some((e) => e.startsWith(prefix) && CIDR.parse(e.slice(prefix.length)).contains(from));
      }
    }
  }

  private matches(m: IpvsRuleMatch, w: Walk): boolean {
    switch (m.type) {
      case 'source':
        return CIDR.parse(m.cidr).contains(this.packet.from) !== m.negate;
      case 'protocol':
        return this.packet.protocol === m.protocol;
      case 'set':
        return this.inSet(m.set, m.dirs, w);
      case 'dst-type-local':
        return this.isLocal(w.dst);
      case 'src-type-local':
        return this.isLocal(this.packet.from) !== m.negate;
      case 'not-from-bridge':
        return true; // the VPC CNI puts pods on no bridge
      case 'mark-unset':
        return (w.mark & m.mark) === 0;
      case 'mark-set':
        return (w.mark & m.mark) !== 0;
      case 'ctstate-new':
        return true; // the first packet of a connection
      case 'ctstate-established':
        return false;
      case 'ipvs-vaddr':
        return this.packet.from === m.ip && w.dst === m.ip && this.packet.protocol.toLowerCase() === m.protocol && w.dport === m.port;
    }
  }

  run(table: 'nat' | 'filter', chain: string, w: Walk, depth = 0): Result {
    for (const r of this.byChain.get(`${table}/${chain}`) ?? []) {
      if (depth > 16 || !r.matches.every((m) => this.matches(m, w))) continue;
      w.rules.push(`-A ${r.chain} ${r.text}`);
      switch (r.target) {
        case 'RETURN':
          return 'continue';
        case 'ACCEPT':
          return 'accept';
        case 'DROP':
          return 'drop';
        case 'REJECT':
          return 'reject';
        case 'MASQUERADE':
          w.masquerade = true;
          return 'accept';
        case 'MARK-OR':
          w.mark |= this.state.mark;
          break;
        case 'MARK-XOR':
          w.mark ^= this.state.mark;
          break;
        default: {
          const res = this.run(table, r.target, w, depth + 1);
          if (res !== 'continue') return res;
        }
      }
    }
    return 'continue';
  }

  virtualServer(w: Walk): IpvsVirtualServer | undefined {
    return this.index.virtualServers.get(`${this.packet.protocol} ${w.dst}:${w.dport}`);
  }
}

type Final = 'DNAT' | 'DROP' | 'REJECT' | 'NONE';

/**
 * What kube-proxy's ipvs mode does with the first packet of a connection on a node with addresses
 * `nodeAddresses` (primary first). Every real server is a possible endpoint (the scheduler — rr, lc, sh, mh —
 * decides which in the datapath); a virtual server without real servers answers ICMP port unreachable (REJECT).
 */
export function explainIpvs(state: IpvsNodeState, packet: ProxyPacket, nodeAddresses: readonly string[], options: IpvsExplainOptions = {}): Explanation {
  const ev = new IpvsEvaluator(state, packet, ipvsLocalAddresses(state, nodeAddresses));
  const arrival = packet.arrival ?? (ev.isLocal(packet.from) ? 'host' : 'pod');
  const w: Walk = { dst: packet.to, dport: packet.port, mark: 0, masquerade: false, rules: [] };
  const stop = (r: Result): Final | undefined => (r === 'drop' ? 'DROP' : r === 'reject' ? 'REJECT' : undefined);
  const answer = (verdict: Final, endpoints: string[] = [], masquerade = false): Explanation => ({ verdict, possibleEndpoints: endpoints, masquerade, rules: w.rules });

  ev.run('nat', arrival === 'host' ? 'OUTPUT' : 'PREROUTING', w);
  const inputChains = () => stop(ev.run('filter', 'INPUT', w));
  if (arrival === 'host') {
    const o = stop(ev.run('filter', 'OUTPUT', w));
    if (o) return answer(o);
  } else {
    const f = ev.isLocal(w.dst) ? inputChains() : stop(ev.run('filter', 'FORWARD', w));
    if (f) return answer(f);
  }
  const vs = ev.isLocal(w.dst) ? ev.virtualServer(w) : undefined;
  if (!vs) {
    // Not a virtual server: a host process's packet to a local address still meets the INPUT rules on lo.
    if (arrival === 'host' && ev.isLocal(w.dst)) {
      const i = inputChains();
      if (i) return answer(i);
    }
    return answer('NONE', [], (w.mark & state.mark) !== 0);
  }
  w.rules.push(ipvsVirtualServerLine(vs));
  if (vs.realServers.length === 0) return answer('REJECT');

  const taken = options.forceEndpoint === undefined ? vs.realServers : vs.realServers.filter((rs) => `${rs.ip}:${rs.port}` === options.forceEndpoint);
  const branches = taken.length > 0 ? taken : vs.realServers;
  let masquerade = false;
  for (const rs of branches) {
    const b: Walk = { dst: rs.ip, dport: rs.port, mark: w.mark, masquerade: false, rules: [] };
    b.rules.push(ipvsRealServerLine(rs).trimEnd());
    ev.run('nat', 'POSTROUTING', b);
    masquerade ||= b.masquerade;
    for (const r of b.rules) if (!w.rules.includes(r)) w.rules.push(r);
  }
  return answer('DNAT', branches.map((rs) => `${rs.ip}:${rs.port}`), masquerade);
}
