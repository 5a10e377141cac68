import type { Protocol } from '../../api/meta.js';
import { CIDR } from '../../ip/cidr.js';
import { ipv4ToInt } from '../../ip/address.js';
import { categorizeEndpoints } from '../categorize-endpoints.js';
import type { LocalTrafficDetector, ResolvedKubeProxyConfiguration } from '../config.js';
import type { ProxyNode } from '../node.js';
import { type EndpointInfo, type ProxyServiceState, type ServicePortInfo, endpointsOf } from '../service-port.js';
import type { IpvsIpset, IpvsIptablesRule, IpvsNodeState, IpvsRealServer, IpvsRuleMatch, IpvsVirtualServer } from './state.js';

// One full sync of kube-proxy's ipvs proxier (pkg/proxy/ipvs/proxier.go: syncProxyRules, syncEndpoint,
// writeIptablesRules, ipsetInfo, ipsetWithIptablesChain, iptablesJumpChain).

/** Everything one node's ipvs proxier syncs from. */
export interface IpvsSyncInput {
  state: ProxyServiceState;
  node: ProxyNode;
  config: ResolvedKubeProxyConfiguration;
  /** Overrides `config.localDetector` (e.g. `localDetectorFor` with the node's podCIDR). */
  localDetector?: LocalTrafficDetector;
}

/** The dummy device kube-proxy binds service addresses to. */
export const IPVS_DUMMY_DEVICE = 'kube-ipvs0';

const IPSETS: ReadonlyArray<readonly [string, IpvsIpset['type'], string]> = [
  ['KUBE-LOOP-BACK', 'hash:ip,port,ip', 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose'],
  ['KUBE-CLUSTER-IP', 'hash:ip,port', 'Kubernetes service cluster ip + port for masquerade purpose'],
  ['KUBE-EXTERNAL-IP', 'hash:ip,port', 'Kubernetes service external ip + port for masquerade and filter purpose'],
  ['KUBE-EXTERNAL-IP-LOCAL', 'hash:ip,port', 'Kubernetes service external ip + port with externalTrafficPolicy=local'],
  ['KUBE-LOAD-BALANCER', 'hash:ip,port', 'Kubernetes service lb portal'],
  ['KUBE-LOAD-BALANCER-FW', 'hash:ip,port', 'Kubernetes service load balancer ip + port for load balancer with sourceRange'],
  ['KUBE-LOAD-BALANCER-LOCAL', 'hash:ip,port', 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local'],
  ['KUBE-LOAD-BALANCER-SOURCE-IP', 'hash:ip,port,ip', 'Kubernetes service load balancer ip + port + source IP for packet filter purpose'],
  ['KUBE-LOAD-BALANCER-SOURCE-CIDR', 'hash:ip,port,net', 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose'],
  ['KUBE-NODE-PORT-TCP', 'bitmap:port', 'Kubernetes nodeport TCP port for masquerade purpose'],
  ['KUBE-NODE-PORT-LOCAL-TCP', 'bitmap:port', 'Kubernetes nodeport TCP port with externalTrafficPolicy=local'],
  ['KUBE-NODE-PORT-UDP', 'bitmap:port', 'Kubernetes nodeport UDP port for masquerade purpose'],
  ['KUBE-NODE-PORT-LOCAL-UDP', 'bitmap:port', 'Kubernetes nodeport UDP port with externalTrafficPolicy=local'],
  ['KUBE-NODE-PORT-SCTP-HASH', 'hash:ip,port', "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'"],
  ['KUBE-NODE-PORT-LOCAL-SCTP-HASH', 'hash:ip,port', "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'"],
  ['KUBE-HEALTH-CHECK-NODE-PORT', 'bitmap:port', 'Kubernetes health check node port'],
  ['KUBE-IPVS-IPS', 'hash:ip', 'Addresses on the ipvs interface'],
];

/** (set, table, from chain, target, match directions, protocol) — kube-proxy's `ipsetWithIptablesChain`. */
const SET_RULES: ReadonlyArray<readonly [string, 'nat' | 'filter', string, string, string, Protocol | '']> = [
  ['KUBE-LOOP-BACK', 'nat', 'KUBE-POSTROUTING', 'MASQUERADE', 'dst,dst,src', ''],
  ['KUBE-LOAD-BALANCER', 'nat', 'KUBE-SERVICES', 'KUBE-LOAD-BALANCER', 'dst,dst', ''],
  ['KUBE-LOAD-BALANCER-LOCAL', 'nat', 'KUBE-LOAD-BALANCER', 'RETURN', 'dst,dst', ''],
  ['KUBE-NODE-PORT-LOCAL-TCP', 'nat', 'KUBE-NODE-PORT', 'RETURN', 'dst', 'TCP'],
  ['KUBE-NODE-PORT-TCP', 'nat', 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'dst', 'TCP'],
  ['KUBE-NODE-PORT-LOCAL-UDP', 'nat', 'KUBE-NODE-PORT', 'RETURN', 'dst', 'UDP'],
  ['KUBE-NODE-PORT-UDP', 'nat', 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'dst', 'UDP'],
  ['KUBE-NODE-PORT-LOCAL-SCTP-HASH', 'nat', 'KUBE-NODE-PORT', 'RETURN', 'dst,dst', 'SCTP'],
  ['KUBE-NODE-PORT-SCTP-HASH', 'nat', 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'dst,dst', 'SCTP'],
  ['KUBE-LOAD-BALANCER-FW', 'filter', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'dst,dst', ''],
  ['KUBE-LOAD-BALANCER-SOURCE-CIDR', 'filter', 'KUBE-SOURCE-RANGES-FIREWALL', 'RETURN', 'dst,dst,src', ''],
  ['KUBE-LOAD-BALANCER-SOURCE-IP', 'filter', 'KUBE-SOURCE-RANGES-FIREWALL', 'RETURN', 'dst,dst,src', ''],
];

/** (table, built-in chain, kube chain, comment) — `iptablesJumpChain`, each inserted at the top of its chain. */
const JUMPS: ReadonlyArray<readonly ['nat' | 'filter', string, string, string]> = [
  ['nat', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals'],
  ['nat', 'PREROUTING', 'KUBE-SERVICES', 'kubernetes service portals'],
  ['nat', 'POSTROUTING', 'KUBE-POSTROUTING', 'kubernetes postrouting rules'],
  ['filter', 'FORWARD', 'KUBE-FORWARD', 'kubernetes forwarding rules'],
  ['filter', 'INPUT', 'KUBE-NODE-PORT', 'kubernetes health check rules'],
  ['filter', 'INPUT', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'],
  ['filter', 'FORWARD', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'],
  ['filter', 'INPUT', 'KUBE-IPVS-FILTER', 'kubernetes ipvs access filter'],
  ['filter', 'OUTPUT', 'KUBE-IPVS-OUT-FILTER', 'kubernetes ipvs access filter'],
];

const NAT_CHAINS = ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'];
const FILTER_CHAINS = ['KUBE-FORWARD', 'KUBE-NODE-PORT', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER'];

/**
 * The node addresses IPVS creates NodePort virtual servers on: with `nodePortAddresses` empty (ipvs mode's
 * default) or `0.0.0.0/0` every local address but kube-ipvs0's, otherwise the addresses inside the given CIDRs (or
 * the primary one for `primary`); never loopback (`isValidForSet` in pkg/proxy/ipvs/netlink_linux.go).
 */
export function ipvsNodePortAddresses(node: ProxyNode, nodePortAddresses: readonly string[]): string[] {
  const loopback = CIDR.parse('127.0.0.0/8');
  const all = nodePortAddresses.length === 0 || nodePortAddresses.some((a) => a !== 'primary' && CIDR.parse(a).prefixLength === 0);
  return node.ips.filter(
    (ip) => !loopback.contains(ip) && (all || nodePortAddresses.some((a) => (a === 'primary' ? ip === node.ips[0] : CIDR.parse(a).contains(ip)))),
  );
}

const q = (s: string) => JSON.stringify(s);

function matchText(m: IpvsRuleMatch): string {
  switch (m.type) {
    case 'source':
      return `${m.negate ? '! ' : ''}-s ${m.cidr}`;
    case 'protocol':
      return `-p ${m.protocol.toLowerCase()}`;
    case 'set':
      return `-m set --match-set ${m.set} ${m.dirs}`;
    case 'dst-type-local':
      return '-m addrtype --dst-type LOCAL';
    case 'src-type-local':
      return `-m addrtype ${m.negate ? '! ' : ''}--src-type LOCAL`;
    case 'not-from-bridge':
      return '-m physdev ! --physdev-is-in';
    case 'mark-unset':
      return `-m mark ! --mark ${hexMark(m.mark)}/${hexMark(m.mark)}`;
    case 'mark-set':
      return `-m mark --mark ${hexMark(m.mark)}/${hexMark(m.mark)}`;
    case 'ctstate-new':
      return '-m conntrack --ctstate NEW';
    case 'ctstate-established':
      return '-m conntrack --ctstate RELATED,ESTABLISHED';
    case 'ipvs-vaddr':
      return `-s ${m.ip} -m ipvs --vaddr ${m.ip} --vproto ${m.protocol} --vport ${m.port}`;
  }
}

/** kube-proxy's mark text: Go's `%#08x` (bit 14 → `0x00004000`). */
function hexMark(mark: number): string {
  return `0x${mark.toString(16).padStart(8, '0')}`;
}

/** Builds one rule; `comment` goes first, as kube-proxy writes `-m comment` before the other matches. */
function iptRule(table: 'nat' | 'filter', chain: string, matches: IpvsRuleMatch[], target: string, opts: { comment?: string; first?: IpvsRuleMatch[]; tail?: string } = {}): IpvsIptablesRule {
  const parts: string[] = [];
  for (const m of opts.first ?? []) parts.push(matchText(m));
  if (opts.comment !== undefined) parts.push(`-m comment --comment ${q(opts.comment)}`);
  for (const m of matches) parts.push(matchText(m));
  parts.push(`-j ${target}${opts.tail ?? ''}`);
  return { table, chain, text: parts.join(' '), matches: [...(opts.first ?? []), ...matches], target };
}

const PROTOCOL_NUMBER: Readonly<Record<Protocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

/** `ntohl(a) - ntohl(b)` stored in a C `int`: the 32-bit difference read as signed, as libipvs compares. */
const signedDifference = (a: string, b: string) => (ipv4ToInt(a) - ipv4ToInt(b)) | 0;

/**
 * The order `ipvsadm -Ln` lists virtual servers in (libipvs `ipvs_cmp_services`): protocol number, then address,
 * then port. Addresses compare by their 32-bit difference read as a signed int, so 192.168.0.2 sorts before
 * 10.96.0.1 (the difference exceeds 2^31); ipvsadm really prints them that way.
 */
export function ipvsadmCompareServices(a: IpvsVirtualServer, b: IpvsVirtualServer): number {
  return PROTOCOL_NUMBER[a.protocol] - PROTOCOL_NUMBER[b.protocol] || signedDifference(a.address, b.address) || a.port - b.port;
}

/** The order `ipvsadm -Ln` lists real servers in (libipvs `ipvs_cmp_dests`): address as above, then port. */
export function ipvsadmCompareRealServers(a: IpvsRealServer, b: IpvsRealServer): number {
  return signedDifference(a.ip, b.ip) || a.port - b.port;
}

/** kube-proxy's ipvs mode on one node after a full sync: virtual servers, kube-ipvs0 addresses, ipsets, iptables. */
export function buildIpvsState(input: IpvsSyncInput): IpvsNodeState {
  const { state, node, config } = input;
  const detector = input.localDetector ?? config.localDetector;
  const mark = 2 ** config.masqueradeBit;
  const sets = new Map<string, IpvsIpset>(IPSETS.map(([name, type, comment]) => [name, { name, type, comment, entries: [] }]));
  const seen = new Map<string, Set<string>>([...sets.keys()].map((k) => [k, new Set<string>()]));
  const add = (set: string, entry: string) => {
    if (seen.get(set)!.has(entry)) return; // ipset entries are unique
    seen.get(set)!.add(entry);
    sets.get(set)!.entries.push(entry);
  };
  const virtualServers: IpvsVirtualServer[] = [];
  const bound = new Set<string>();
  const bind = (ip: string) => bound.add(ip);
  const nodeAddresses = new Set(node.ips);
  const nodePortIPs = ipvsNodePortAddresses(node, config.nodePortAddresses);
  const lbNoNodeAccess: Array<{ ip: string; protocol: string; port: number }> = [];

  for (const sp of state.servicePorts) {
    const proto = sp.protocol.toLowerCase();
    const endpoints = endpointsOf(state, sp);
    for (const ep of endpoints) if (ep.isLocal) add('KUBE-LOOP-BACK', `${ep.ip},${proto}:${ep.port},${ep.ip}`);
    const realServers = (onlyLocal: boolean) => ipvsRealServers(endpoints, sp, input, onlyLocal);
    const vs = (address: string, port: number, kind: IpvsVirtualServer['kind'], onlyLocal: boolean): IpvsVirtualServer => ({
      protocol: sp.protocol,
      address,
      port,
      scheduler: config.ipvsScheduler,
      ...(sp.sessionAffinity === 'ClientIP' ? { persistentTimeout: sp.stickyMaxAgeSeconds } : {}),
      kind,
      servicePort: sp.name,
      realServers: realServers(onlyLocal),
    });

    add('KUBE-CLUSTER-IP', `${sp.clusterIP},${proto}:${sp.port}`);
    virtualServers.push(vs(sp.clusterIP, sp.port, 'ClusterIP', sp.internalPolicyLocal));
    bind(sp.clusterIP);

    for (const ip of sp.externalIPs) {
      add(sp.externalPolicyLocal ? 'KUBE-EXTERNAL-IP-LOCAL' : 'KUBE-EXTERNAL-IP', `${ip},${proto}:${sp.port}`);
      virtualServers.push(vs(ip, sp.port, 'ExternalIP', sp.externalPolicyLocal));
      if (!nodeAddresses.has(ip)) bind(ip);
    }

    for (const ip of sp.loadBalancerVIPs) {
      const entry = `${ip},${proto}:${sp.port}`;
      add('KUBE-LOAD-BALANCER', entry);
      if (sp.externalPolicyLocal) add('KUBE-LOAD-BALANCER-LOCAL', entry);
      if (sp.loadBalancerSourceRanges.length > 0) {
        add('KUBE-LOAD-BALANCER-FW', entry);
        let allowFromNode = false;
        for (const cidr of sp.loadBalancerSourceRanges) {
          add('KUBE-LOAD-BALANCER-SOURCE-CIDR', `${entry},${cidr}`);
          if (node.ips[0] !== undefined && CIDR.parse(cidr).contains(node.ips[0])) allowFromNode = true;
        }
        if (allowFromNode) add('KUBE-LOAD-BALANCER-SOURCE-IP', `${entry},${ip}`);
        else lbNoNodeAccess.push({ ip, protocol: proto, port: sp.port });
      }
      virtualServers.push(vs(ip, sp.port, 'LoadBalancerIP', sp.externalPolicyLocal));
      if (!nodeAddresses.has(ip)) bind(ip);
    }

    if (sp.nodePort !== 0 && nodePortIPs.length > 0) {
      const local = sp.externalPolicyLocal;
      const entries = sp.protocol === 'SCTP' ? nodePortIPs.map((ip) => `${ip},${proto}:${sp.nodePort}`) : [String(sp.nodePort)];
      const setName = sp.protocol === 'SCTP' ? 'KUBE-NODE-PORT-SCTP-HASH' : `KUBE-NODE-PORT-${sp.protocol}`;
      for (const e of entries) add(setName, e);
      if (local) for (const e of entries) add(sp.protocol === 'SCTP' ? 'KUBE-NODE-PORT-LOCAL-SCTP-HASH' : `KUBE-NODE-PORT-LOCAL-${sp.protocol}`, e);
      for (const ip of nodePortIPs) virtualServers.push(vs(ip, sp.nodePort, 'NodePort', local));
    }

    if (sp.healthCheckNodePort !== 0) add('KUBE-HEALTH-CHECK-NODE-PORT', String(sp.healthCheckNodePort));
  }
  for (const ip of bound) add('KUBE-IPVS-IPS', ip);
  virtualServers.sort(ipvsadmCompareServices);

  const rules = writeIptablesRules(sets, config.masqueradeAll, detector, mark, lbNoNodeAccess);
  const jumpRules = JUMPS.map(([table, from, to, comment]) => iptRule(table, from, [], to, { comment }));
  return { virtualServers, boundAddresses: [...bound], nodePortAddresses: nodePortIPs, ipsets: sets, chains: { nat: [...NAT_CHAINS], filter: [...FILTER_CHAINS] }, rules, jumpRules, mark };
}

/**
 * The destinations of one virtual server (`syncEndpoint`): for traffic policy Local the node-local endpoints, or
 * — unlike iptables and nftables modes — every cluster endpoint when there is no local one (kubernetes#97081:
 * pods on the node can still reach the Service); otherwise the cluster endpoints. All with weight 1.
 */
export function ipvsRealServers(endpoints: readonly EndpointInfo[], sp: ServicePortInfo, input: Pick<IpvsSyncInput, 'node'>, onlyLocal: boolean) {
  const { clusterEndpoints, localEndpoints } = categorizeEndpoints(endpoints, sp, {
    nodeName: input.node.name,
    ...(input.node.labels ? { nodeLabels: input.node.labels } : {}),
  });
  const chosen = onlyLocal && localEndpoints.length > 0 ? localEndpoints : clusterEndpoints;
  return chosen.map((ep) => ({ ip: ep.ip, port: ep.port, weight: 1 }));
}

function writeIptablesRules(
  sets: Map<string, IpvsIpset>,
  masqueradeAll: boolean,
  detector: LocalTrafficDetector,
  mark: number,
  lbNoNodeAccess: ReadonlyArray<{ ip: string; protocol: string; port: number }>,
): IpvsIptablesRule[] {
  const rules: IpvsIptablesRule[] = [];
  const nonEmpty = (s: string) => sets.get(s)!.entries.length > 0;
  const comment = (s: string) => sets.get(s)!.comment;
  const setMatch = (set: string, dirs: string): IpvsRuleMatch => ({ type: 'set', set, dirs });

  rules.push(iptRule('nat', 'KUBE-SERVICES', [{ type: 'source', cidr: '127.0.0.0/8', negate: false }], 'RETURN'));
  for (const [set, table, from, to, dirs, protocol] of SET_RULES) {
    if (!nonEmpty(set)) continue;
    rules.push(iptRule(table, from, [setMatch(set, dirs)], to, { comment: comment(set), ...(protocol ? { first: [{ type: 'protocol', protocol }] } : {}) }));
  }
  if (nonEmpty('KUBE-CLUSTER-IP')) {
    const c = { comment: comment('KUBE-CLUSTER-IP') };
    if (masqueradeAll) rules.push(iptRule('nat', 'KUBE-SERVICES', [setMatch('KUBE-CLUSTER-IP', 'dst,dst')], 'KUBE-MARK-MASQ', c));
    else if (detector.kind === 'cidr') {
      rules.push(iptRule('nat', 'KUBE-SERVICES', [setMatch('KUBE-CLUSTER-IP', 'dst,dst'), { type: 'source', cidr: detector.cidr, negate: true }], 'KUBE-MARK-MASQ', c));
    } else {
      // No detector (EKS): masquerade node-originated connections whose source is a VIP on kube-ipvs0.
      rules.push(iptRule('nat', 'KUBE-SERVICES', [setMatch('KUBE-CLUSTER-IP', 'src,dst')], 'KUBE-MARK-MASQ', c));
    }
  }
  const externalIPRules = (set: string) => {
    const c = { comment: comment(set) };
    rules.push(iptRule('nat', 'KUBE-SERVICES', [setMatch(set, 'dst,dst'), { type: 'not-from-bridge' }, { type: 'src-type-local', negate: true }], 'ACCEPT', c));
    rules.push(iptRule('nat', 'KUBE-SERVICES', [setMatch(set, 'dst,dst'), { type: 'dst-type-local' }], 'ACCEPT', c));
  };
  if (nonEmpty('KUBE-EXTERNAL-IP')) {
    rules.push(iptRule('nat', 'KUBE-SERVICES', [setMatch('KUBE-EXTERNAL-IP', 'dst,dst')], 'KUBE-MARK-MASQ', { comment: comment('KUBE-EXTERNAL-IP') }));
    externalIPRules('KUBE-EXTERNAL-IP');
  }
  if (nonEmpty('KUBE-EXTERNAL-IP-LOCAL')) externalIPRules('KUBE-EXTERNAL-IP-LOCAL');
  rules.push(iptRule('nat', 'KUBE-SERVICES', [{ type: 'dst-type-local' }], 'KUBE-NODE-PORT'));
  rules.push(iptRule('nat', 'KUBE-LOAD-BALANCER', [], 'KUBE-MARK-MASQ'));
  rules.push(iptRule('filter', 'KUBE-SOURCE-RANGES-FIREWALL', [], 'DROP'));
  for (const e of lbNoNodeAccess) rules.push(iptRule('filter', 'KUBE-IPVS-OUT-FILTER', [{ type: 'ipvs-vaddr', ip: e.ip, protocol: e.protocol, port: e.port }], 'DROP'));
  for (const set of ['KUBE-CLUSTER-IP', 'KUBE-LOAD-BALANCER']) {
    if (nonEmpty(set)) rules.push(iptRule('nat', 'KUBE-SERVICES', [setMatch(set, 'dst,dst')], 'ACCEPT'));
  }
  rules.push(iptRule('filter', 'KUBE-FORWARD', [{ type: 'mark-set', mark }], 'ACCEPT', { comment: 'kubernetes forwarding rules' }));
  rules.push(iptRule('filter', 'KUBE-FORWARD', [{ type: 'ctstate-established' }], 'ACCEPT', { comment: 'kubernetes forwarding conntrack rule' }));
  rules.push(iptRule('filter', 'KUBE-NODE-PORT', [setMatch('KUBE-HEALTH-CHECK-NODE-PORT', 'dst')], 'ACCEPT', { comment: comment('KUBE-HEALTH-CHECK-NODE-PORT') }));
  for (const [set, dirs] of [['KUBE-LOAD-BALANCER', 'dst,dst'], ['KUBE-CLUSTER-IP', 'dst,dst'], ['KUBE-EXTERNAL-IP', 'dst,dst'], ['KUBE-EXTERNAL-IP-LOCAL', 'dst,dst'], ['KUBE-HEALTH-CHECK-NODE-PORT', 'dst']] as const) {
    rules.push(iptRule('filter', 'KUBE-IPVS-FILTER', [setMatch(set, dirs)], 'RETURN'));
  }
  rules.push(iptRule('filter', 'KUBE-IPVS-FILTER', [{ type: 'ctstate-new' }, setMatch('KUBE-IPVS-IPS', 'dst')], 'REJECT'));
  rules.push(iptRule('nat', 'KUBE-POSTROUTING', [{ type: 'mark-unset', mark }], 'RETURN'));
  rules.push({ table: 'nat', chain: 'KUBE-POSTROUTING', text: `-j MARK --xor-mark ${hexMark(mark)}`, matches: [], target: 'MARK-XOR' });
  rules.push(iptRule('nat', 'KUBE-POSTROUTING', [], 'MASQUERADE', { comment: 'kubernetes service traffic requiring SNAT', tail: ' --random-fully' }));
  rules.push({ table: 'nat', chain: 'KUBE-MARK-MASQ', text: `-j MARK --or-mark ${hexMark(mark)}`, matches: [], target: 'MARK-OR' });
  return rules;
}
