import { CIDR } from '../../ip/cidr.js';
import { categorizeEndpoints } from '../categorize-endpoints.js';
import type { LocalTrafficDetector, ResolvedKubeProxyConfiguration } from '../config.js';
import type { ProxyNode } from '../node.js';
import { type EndpointInfo, type ProxyServiceState, type ServicePortInfo, endpointsOf, externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../service-port.js';
import { nftEndpointNames, nftServicePortChains } from './names.js';
import type { NftBaseChain, NftChain, NftMap, NftMapKey, NftMatch, NftProtocol, NftRule, NftRuleset, NftSet, NftStatement, NftVerdict } from './ruleset.js';

// One full sync of kube-proxy's nftables proxier (pkg/proxy/nftables/proxier.go: setupNFTables and
// syncProxyRules), in the shape of kube-proxy of the v1.33+ generation: filter chains before DNAT at −110,
// the others at 0; `cluster-ips-check`; split `service-`/`nodeport-endpoints-check` chains.

/** Everything one node's nftables proxier syncs from. */
export interface NftablesSyncInput {
  state: ProxyServiceState;
  node: ProxyNode;
  config: ResolvedKubeProxyConfiguration;
  /** The Service CIDRs (`--service-cluster-ip-range`); traffic to unallocated addresses in them is dropped. */
  serviceCIDRs: readonly string[];
  /** Overrides `config.localDetector` (e.g. the result of `localDetectorFor` with the node's podCIDR). */
  localDetector?: LocalTrafficDetector;
}

export const NFT_TABLE = 'kube-proxy';

const BASE_CHAINS: ReadonlyArray<readonly [string, NftBaseChain]> = [
  // Filter rules must see pre-DNAT destinations: dstnat − 10.
  ['filter-prerouting-pre-dnat', { type: 'filter', hook: 'prerouting', priority: -110 }],
  ['filter-output-pre-dnat', { type: 'filter', hook: 'output', priority: -110 }],
  ['filter-input', { type: 'filter', hook: 'input', priority: 0 }],
  ['filter-forward', { type: 'filter', hook: 'forward', priority: 0 }],
  ['filter-output', { type: 'filter', hook: 'output', priority: 0 }],
  ['nat-prerouting', { type: 'nat', hook: 'prerouting', priority: -100 }],
  ['nat-output', { type: 'nat', hook: 'output', priority: -100 }],
  ['nat-postrouting', { type: 'nat', hook: 'postrouting', priority: 100 }],
];

/** (destination chain, source base chain, only for new connections) in kube-proxy's order. */
const JUMP_CHAINS: ReadonlyArray<readonly [string, string, boolean]> = [
  ['nodeport-endpoints-check', 'filter-input', true],
  ['service-endpoints-check', 'filter-input', true],
  ['service-endpoints-check', 'filter-forward', true],
  ['service-endpoints-check', 'filter-output', true],
  ['firewall-check', 'filter-prerouting-pre-dnat', true],
  ['firewall-check', 'filter-output-pre-dnat', true],
  ['services', 'nat-output', false],
  ['services', 'nat-prerouting', false],
  ['masquerading', 'nat-postrouting', false],
  ['cluster-ips-check', 'filter-forward', true],
  ['cluster-ips-check', 'filter-output', true],
];

const MARK_MASQ = 'mark-for-masquerade';
const REJECT_CHAIN = 'reject-chain';
const LOCALHOST = '127.0.0.0/8';

/**
 * Where NodePorts are accepted in nftables mode (`NodePortAddresses` of pkg/proxy/util): `all` when a CIDR is
 * `0.0.0.0/0`, else the node addresses inside the CIDRs, or the primary address when `nodePortAddresses` is empty
 * or `primary`. Loopback addresses never accept NodePorts in nftables mode.
 */
export function nftablesNodePortAddresses(node: ProxyNode, nodePortAddresses: readonly string[]): { all: true } | { all: false; ips: string[] } {
  const entries = nodePortAddresses.length === 0 ? ['primary'] : nodePortAddresses;
  const cidrs: CIDR[] = [];
  for (const entry of entries) {
    if (entry === 'primary') {
      if (node.ips[0] !== undefined) cidrs.push(CIDR.parse(`${node.ips[0]}/32`));
    } else {
      const c = CIDR.parse(entry, 'nodePortAddresses entry');
      if (c.family === 'IPv4') cidrs.push(c);
    }
  }
  if (cidrs.some((c) => c.prefixLength === 0)) return { all: true };
  const loopback = CIDR.parse(LOCALHOST);
  return { all: false, ips: node.ips.filter((ip) => !loopback.contains(ip) && cidrs.some((c) => c.contains(ip))) };
}

const rule = (matches: NftMatch[], statement: NftStatement, comment?: string): NftRule =>
  comment === undefined ? { matches, statement } : { matches, statement, comment };
const jump = (chain: string): NftStatement => ({ type: 'verdict', verdict: { type: 'jump', chain } });
const goto = (chain: string): NftStatement => ({ type: 'verdict', verdict: { type: 'goto', chain } });

class RulesetBuilder {
  readonly rs: NftRuleset = { family: 'ip', table: NFT_TABLE, comment: 'rules for kube-proxy', sets: new Map(), maps: new Map(), chains: new Map() };

  chain(name: string, extra: { base?: NftBaseChain; comment?: string } = {}): NftChain {
    let c = this.rs.chains.get(name);
    if (!c) this.rs.chains.set(name, (c = { name, rules: [], ...extra }));
    return c;
  }
  add(chain: string, r: NftRule): void {
    this.chain(chain).rules.push(r);
  }
  set(s: NftSet): NftSet {
    this.rs.sets.set(s.name, s);
    return s;
  }
  map(name: string, key: NftMapKey, comment: string): NftMap {
    const m: NftMap = { name, key, comment, elements: [] };
    this.rs.maps.set(name, m);
    return m;
  }
  private readonly seen = new Map<string, Set<string>>();
  /** Adds a set element once (kube-proxy's element storage keys by value). */
  setElement(set: string, value: string): void {
    let seen = this.seen.get(set);
    if (!seen) this.seen.set(set, (seen = new Set()));
    if (seen.has(value)) return;
    seen.add(value);
    this.rs.sets.get(set)!.elements.push(value);
  }
  element(map: string, key: string[], value: NftVerdict, comment?: string): void {
    this.rs.maps.get(map)!.elements.push(comment === undefined ? { key, value } : { key, value, comment });
  }
}

function nftProtocol(sp: ServicePortInfo): NftProtocol {
  return sp.protocol.toLowerCase() as NftProtocol;
}

/**
 * kube-proxy's nftables table for one node after a full sync, as a structure: print it with
 * `printNftablesRuleset`, evaluate it with `explainNftables`. Service ports are written in the state's order
 * (kube-proxy walks a Go map; the order of elements and chains does not change what the table does).
 */
export function buildNftablesRuleset(input: NftablesSyncInput): NftRuleset {
  const { state, node, config } = input;
  const detector = input.localDetector ?? config.localDetector;
  const mark = 2 ** config.masqueradeBit;
  const b = new RulesetBuilder();
  const nodePorts = nftablesNodePortAddresses(node, config.nodePortAddresses);

  for (const [name, base] of BASE_CHAINS) b.chain(name, { base });
  for (const [dst, src, onlyNew] of JUMP_CHAINS) {
    b.chain(dst);
    b.add(src, rule(onlyNew ? [{ type: 'ct-state-new' }] : [], jump(dst)));
  }
  b.add(MARK_MASQ, rule([], { type: 'mark-or', mark }));
  b.add('masquerading', rule([{ type: 'mark-unset', mark }], { type: 'verdict', verdict: { type: 'return' } }));
  b.add('masquerading', rule([], { type: 'mark-xor', mark }));
  b.add('masquerading', rule([], { type: 'masquerade' }));

  b.set({ name: 'cluster-ips', type: 'ipv4_addr', comment: 'Active ClusterIPs', elements: [] });
  b.add('cluster-ips-check', rule([{ type: 'address-in-set', field: 'daddr', set: 'cluster-ips' }], { type: 'verdict', verdict: { type: 'reject' } }, 'Reject traffic to invalid ports of ClusterIPs'));
  const serviceCIDRs = input.serviceCIDRs.map((c) => CIDR.parse(c, 'service CIDR')).filter((c) => c.family === 'IPv4');
  if (serviceCIDRs.length > 0) {
    b.add(
      'cluster-ips-check',
      rule([{ type: 'address-list', field: 'daddr', negate: false, values: serviceCIDRs.map(String), compact: true }], { type: 'verdict', verdict: { type: 'drop' } }, 'Drop traffic to unallocated ClusterIPs'),
    );
  }
  if (!nodePorts.all) b.set({ name: 'nodeport-ips', type: 'ipv4_addr', comment: 'IPs that accept NodePort traffic', elements: [...nodePorts.ips] });

  b.map('no-endpoint-services', 'daddr . l4proto . dport', 'vmap to drop or reject packets to services with no endpoints');
  b.map('no-endpoint-nodeports', 'l4proto . dport', 'vmap to drop or reject packets to service nodeports with no endpoints');
  b.chain(REJECT_CHAIN, { comment: 'helper for @no-endpoint-services / @no-endpoint-nodeports' });
  b.add(REJECT_CHAIN, rule([], { type: 'verdict', verdict: { type: 'reject' } }));
  b.add('service-endpoints-check', rule([], { type: 'vmap', key: 'daddr . l4proto . dport', map: 'no-endpoint-services' }));
  const nodePortDest: NftMatch[] = nodePorts.all
    ? [{ type: 'address', field: 'daddr', negate: true, value: LOCALHOST }]
    : [{ type: 'address-in-set', field: 'daddr', set: 'nodeport-ips' }];
  b.add('nodeport-endpoints-check', rule([...nodePortDest], { type: 'vmap', key: 'l4proto . dport', map: 'no-endpoint-nodeports' }));

  b.map('firewall-ips', 'daddr . l4proto . dport', 'destinations that are subject to LoadBalancerSourceRanges');
  b.add('firewall-check', rule([], { type: 'vmap', key: 'daddr . l4proto . dport', map: 'firewall-ips' }));

  b.map('service-ips', 'daddr . l4proto . dport', 'ClusterIP, ExternalIP and LoadBalancer IP traffic');
  b.map('service-nodeports', 'l4proto . dport', 'NodePort traffic');
  b.add('services', rule([], { type: 'vmap', key: 'daddr . l4proto . dport', map: 'service-ips' }));
  b.add(
    'services',
    rule(nodePorts.all ? [{ type: 'fib-local', field: 'daddr' }, ...nodePortDest] : nodePortDest, { type: 'vmap', key: 'l4proto . dport', map: 'service-nodeports' }),
  );

  for (const sp of state.servicePorts) writeServicePort(b, sp, endpointsOf(state, sp), input, detector);
  return b.rs;
}

function writeServicePort(
  b: RulesetBuilder,
  sp: ServicePortInfo,
  endpoints: readonly EndpointInfo[],
  input: NftablesSyncInput,
  detector: LocalTrafficDetector,
): void {
  const protocol = nftProtocol(sp);
  const names = { namespace: sp.namespace, serviceName: sp.serviceName, portName: sp.portName, protocol };
  const chains = nftServicePortChains(names);
  const { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints } = categorizeEndpoints(endpoints, sp, {
    nodeName: input.node.name,
    ...(input.node.labels ? { nodeLabels: input.node.labels } : {}),
  });
  // Each name costs a SHA-256: compute an endpoint's once (cluster and local endpoints are all in allReachable).
  const endpointNames = new Map(allReachableEndpoints.map((ep) => [ep.endpoint, nftEndpointNames(names, ep.ip, ep.port)]));
  const epNames = (ep: EndpointInfo) => endpointNames.get(ep.endpoint) ?? nftEndpointNames(names, ep.ip, ep.port);
  const affinity = sp.sessionAffinity === 'ClientIP';

  for (const ep of allReachableEndpoints) b.chain(epNames(ep).chain);
  const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
  if (usesClusterPolicyChain) b.chain(chains.clusterPolicy);
  const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(sp);
  if (usesLocalPolicyChain) b.chain(chains.localPolicy);

  const internalTrafficChain = sp.internalPolicyLocal ? chains.localPolicy : chains.clusterPolicy;
  const hasInternalEndpoints = hasAnyEndpoints && !(sp.internalPolicyLocal && localEndpoints.length === 0);
  const externalPolicyChain = sp.externalPolicyLocal ? chains.localPolicy : chains.clusterPolicy;
  const hasExternalEndpoints = hasAnyEndpoints && !(sp.externalPolicyLocal && localEndpoints.length === 0);
  const usesExternalTrafficChain = hasAnyEndpoints && externallyAccessible(sp);
  if (usesExternalTrafficChain) b.chain(chains.external);

  const rejectVerdict: NftVerdict = { type: 'goto', chain: REJECT_CHAIN };
  const internalFilterVerdict: NftVerdict = hasAnyEndpoints ? { type: 'drop' } : rejectVerdict;
  const externalFilterVerdict: NftVerdict = hasAnyEndpoints ? { type: 'drop' } : rejectVerdict;
  const port = String(sp.port);

  b.setElement('cluster-ips', sp.clusterIP);
  if (hasInternalEndpoints) b.element('service-ips', [sp.clusterIP, protocol, port], { type: 'goto', chain: internalTrafficChain });
  else b.element('no-endpoint-services', [sp.clusterIP, protocol, port], internalFilterVerdict, sp.name);

  for (const ip of sp.externalIPs) {
    if (hasAnyEndpoints) b.element('service-ips', [ip, protocol, port], { type: 'goto', chain: chains.external });
    if (!hasExternalEndpoints) b.element('no-endpoint-services', [ip, protocol, port], externalFilterVerdict, sp.name);
  }

  const usesFWChain = sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
  if (usesFWChain) b.chain(chains.firewall);
  for (const ip of sp.loadBalancerVIPs) {
    if (hasAnyEndpoints) b.element('service-ips', [ip, protocol, port], { type: 'goto', chain: chains.external });
    if (usesFWChain) b.element('firewall-ips', [ip, protocol, port], { type: 'goto', chain: chains.firewall });
  }
  if (!hasExternalEndpoints) {
    for (const ip of sp.loadBalancerVIPs) b.element('no-endpoint-services', [ip, protocol, port], externalFilterVerdict, sp.name);
  }

  if (sp.nodePort !== 0) {
    const key = [protocol, String(sp.nodePort)];
    if (hasAnyEndpoints) b.element('service-nodeports', key, { type: 'goto', chain: chains.external });
    if (!hasExternalEndpoints) b.element('no-endpoint-nodeports', key, externalFilterVerdict, sp.name);
  }

  const mark = MARK_MASQ;
  if (hasInternalEndpoints) {
    const toClusterIP: NftMatch = { type: 'address', field: 'daddr', negate: false, value: sp.clusterIP };
    if (input.config.masqueradeAll) b.add(internalTrafficChain, rule([toClusterIP], jump(mark)));
    else if (detector.kind === 'cidr') b.add(internalTrafficChain, rule([toClusterIP, { type: 'address', field: 'saddr', negate: true, value: detector.cidr }], jump(mark)));
  }

  if (usesExternalTrafficChain) {
    if (!sp.externalPolicyLocal) {
      b.add(chains.external, rule([], jump(mark)));
    } else {
      if (detector.kind === 'cidr') {
        b.add(chains.external, rule([{ type: 'address', field: 'saddr', negate: false, value: detector.cidr }], goto(chains.clusterPolicy), 'short-circuit pod traffic'));
      }
      b.add(chains.external, rule([{ type: 'fib-local', field: 'saddr' }], jump(mark), 'masquerade local traffic'));
      b.add(chains.external, rule([{ type: 'fib-local', field: 'saddr' }], goto(chains.clusterPolicy), 'short-circuit local traffic'));
    }
    if (hasExternalEndpoints) b.add(chains.external, rule([], goto(externalPolicyChain)));
  }

  if (usesFWChain) {
    const sources = [...sp.loadBalancerSourceRanges];
    const primary = input.node.ips[0];
    if (primary !== undefined && sp.loadBalancerSourceRanges.some((c) => CIDR.parse(c).contains(primary))) sources.push(...sp.loadBalancerVIPs);
    b.add(chains.firewall, rule([{ type: 'address-list', field: 'saddr', negate: true, values: sources }], { type: 'verdict', verdict: { type: 'drop' } }));
  }

  if (affinity) {
    for (const ep of allReachableEndpoints) {
      b.set({ name: epNames(ep).affinitySet, type: 'ipv4_addr', timeoutSeconds: sp.stickyMaxAgeSeconds, elements: [] });
    }
  }

  const writeEndpointRules = (chain: string, eps: readonly EndpointInfo[]) => {
    if (affinity) {
      for (const ep of eps) {
        const n = epNames(ep);
        b.add(chain, rule([{ type: 'address-in-set', field: 'saddr', set: n.affinitySet }], goto(n.chain)));
      }
    }
    b.add(chain, rule([], { type: 'numgen', chains: eps.map((ep) => epNames(ep).chain) }));
  };
  if (usesClusterPolicyChain) writeEndpointRules(chains.clusterPolicy, clusterEndpoints);
  if (usesLocalPolicyChain) writeEndpointRules(chains.localPolicy, localEndpoints);

  for (const ep of allReachableEndpoints) {
    const n = epNames(ep);
    b.add(n.chain, rule([{ type: 'address', field: 'saddr', negate: false, value: ep.ip }], jump(mark)));
    if (affinity) b.add(n.chain, rule([], { type: 'update-set', set: n.affinitySet }));
    b.add(n.chain, rule([], { type: 'dnat', protocol, ip: ep.ip, port: ep.port }));
  }
}
