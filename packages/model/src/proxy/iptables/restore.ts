import type { LocalTrafficDetector, ResolvedKubeProxyConfiguration } from '../config.js';
import { ifLocal, ifNotLocal } from '../config.js';
import { categorizeEndpoints } from '../categorize-endpoints.js';
import { isServiceChainName, portProtoHash, servicePortEndpointChain } from '../chain-names.js';
import type { ProxyNode } from '../node.js';
import { CIDR } from '../../ip/cidr.js';
import { type EndpointInfo, type ProxyServiceState, endpointsOf, externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../service-port.js';
import { computeProbability } from './probability.js';

// The iptables-restore input of one full sync of kube-proxy's iptables mode (pkg/proxy/iptables/proxier.go:
// syncProxyRules, writeServiceToEndpointRules), table by table and line by line in the order it writes them.

/** Above this many endpoints (all service ports together) kube-proxy drops per-endpoint comments. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

/** The nfacct counter kube-proxy counts localhost NodePort packets with. */
export const LOCALHOST_NODEPORTS_NFACCT = 'localhost_nps_accepted_pkts';
/** The nfacct counter of INVALID packets dropped in KUBE-FORWARD. */
export const CT_STATE_INVALID_NFACCT = 'ct_state_invalid_dropped_pkts';

/** Host facts kube-proxy probes at startup and that change its output. */
export interface IptablesHostFeatures {
  /** nfacct counters kube-proxy could create (`nfacct.Ensure`); rules use them only then. Default: both exist. */
  nfacctCounters?: { localhostNodePortsAccepted?: boolean; ctStateInvalidDropped?: boolean };
  /** iptables supports `MASQUERADE --random-fully` (≥ 1.6.2, every current distribution). Default true. */
  randomFully?: boolean;
  /**
   * `net.netfilter.nf_conntrack_tcp_be_liberal` is set, so no INVALID-drop rule. Default: the configuration's
   * `conntrack.tcpBeLiberal` (kube-proxy sets the sysctl from it).
   */
  conntrackTCPLiberal?: boolean;
  /** Service chains left in the kernel from earlier syncs; the stale ones are flushed and deleted (`-X`). */
  existingNatChains?: readonly string[];
}

/** What `renderIptablesRestore` needs. */
export interface IptablesSyncInput {
  state: ProxyServiceState;
  config: ResolvedKubeProxyConfiguration;
  node: ProxyNode;
  host?: IptablesHostFeatures;
  /** Overrides the mark text (kube-proxy's unit tests use `0x4000`; the real one writes `0x00004000`). */
  masqueradeMarkText?: string;
  /** Overrides `config.localDetector` (e.g. `localDetectorFor` with the node's podCIDR for detectLocalMode NodeCIDR). */
  localDetector?: LocalTrafficDetector;
  /**
   * A partial sync: only these Services (`ns/name`, changed since the last sync) get their SVC/SVL/EXT/FW/SEP chains
   * rewritten; the top-level chains are always complete. Omit for a full sync. Give `host.existingNatChains` so the
   * chains of deleted Services and endpoints are flushed and removed.
   */
  changedServices?: ReadonlySet<string>;
}

/** One iptables table of a restore input: chain declarations and `-A`/`-X` lines, in writing order. */
export interface RestoreTable {
  name: 'filter' | 'nat';
  /** Chain names declared with `:NAME - [0:0]`, in order. */
  chains: string[];
  /** Rule lines (`-A CHAIN …`, `-X CHAIN`), in order. */
  rules: string[];
}

/** Joins arguments into one iptables-restore line, quoting arguments that contain spaces as kube-proxy does. */
export function joinArgs(args: readonly string[]): string {
  return args.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ');
}

/** The effective `localhostNodePorts`: off when `nodePortAddresses` is set and has no IPv4 loopback. */
export function effectiveLocalhostNodePorts(config: ResolvedKubeProxyConfiguration): boolean {
  if (!config.localhostNodePorts) return false;
  if (config.nodePortAddresses.length === 0) return true;
  return config.nodePortAddresses.some((a) => a !== 'primary' && CIDR.parse(a).family === 'IPv4' && CIDR.parse(a).contains('127.0.0.1'));
}

/** The node addresses NodePorts are accepted on when `nodePortAddresses` is set (`GetNodeIPs`), lo first. */
export function nodePortAddressIPs(config: ResolvedKubeProxyConfiguration, node: ProxyNode): string[] {
  const candidates = ['127.0.0.1', ...node.ips];
  const out: string[] = [];
  for (const ip of candidates) {
    const matches = config.nodePortAddresses.some((a) => (a === 'primary' ? ip === node.ips[0] : CIDR.parse(a).contains(ip)));
    if (matches && !out.includes(ip)) out.push(ip);
  }
  return out;
}

/** The tables of one sync (filter, then nat); a full sync unless `changedServices` is given. */
export function buildIptablesRestore(input: IptablesSyncInput): RestoreTable[] {
  const { state, config, node } = input;
  const host = input.host ?? {};
  const mark = input.masqueradeMarkText ?? config.masqueradeMark;
  const nfacctLocalhost = host.nfacctCounters?.localhostNodePortsAccepted ?? true;
  const nfacctInvalid = host.nfacctCounters?.ctStateInvalidDropped ?? true;
  const randomFully = host.randomFully ?? true;
  const tcpLiberal = host.conntrackTCPLiberal ?? config.conntrack.tcpBeLiberal;
  const localhostNodePorts = effectiveLocalhostNodePorts(config);
  const detector = input.localDetector ?? config.localDetector;

  const filter: RestoreTable = { name: 'filter', chains: ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL'], rules: [] };
  const nat: RestoreTable = { name: 'nat', chains: ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'], rules: [] };
  const f = (...args: string[]) => filter.rules.push(joinArgs(args));
  const n = (...args: string[]) => nat.rules.push(joinArgs(args));

  n('-A', 'KUBE-POSTROUTING', '-m', 'mark', '!', '--mark', `${mark}/${mark}`, '-j', 'RETURN');
  n('-A', 'KUBE-POSTROUTING', '-j', 'MARK', '--xor-mark', mark);
  n('-A', 'KUBE-POSTROUTING', '-m', 'comment', '--comment', 'kubernetes service traffic requiring SNAT', '-j', 'MASQUERADE', ...(randomFully ? ['--random-fully'] : []));
  n('-A', 'KUBE-MARK-MASQ', '-j', 'MARK', '--or-mark', mark);

  if (localhostNodePorts) {
    // The anti-martian rule guarding route_localnet (kubelet writes the same one).
    filter.chains.push('KUBE-FIREWALL');
    f('-A', 'KUBE-FIREWALL', '-m', 'comment', '--comment', 'block incoming localnet connections', '-d', '127.0.0.0/8', '!', '-s', '127.0.0.0/8', '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-j', 'DROP');
  }

  const activeNatChains = new Set<string>();
  let totalEndpoints = 0;
  for (const sp of state.servicePorts) totalEndpoints += endpointsOf(state, sp).length;
  const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const comment = (text: string) => (largeClusterMode ? [] : ['-m', 'comment', '--comment', text]);

  for (const sp of state.servicePorts) {
    const protocol = sp.protocol.toLowerCase();
    const spn = sp.name;
    const { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints: hasEndpoints } = categorizeEndpoints(endpointsOf(state, sp), sp, {
      nodeName: node.name,
      ...(node.labels ? { nodeLabels: node.labels } : {}),
    });
    const hash = portProtoHash(spn, protocol);
    const clusterPolicyChain = `KUBE-SVC-${hash}`;
    const localPolicyChain = `KUBE-SVL-${hash}`;
    const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
    const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(sp);
    let internalTrafficChain = clusterPolicyChain;
    let hasInternalEndpoints = hasEndpoints;
    if (sp.internalPolicyLocal) {
      internalTrafficChain = localPolicyChain;
      if (localEndpoints.length === 0) hasInternalEndpoints = false;
    }
    let externalPolicyChain = clusterPolicyChain;
    let hasExternalEndpoints = hasEndpoints;
    if (sp.externalPolicyLocal) {
      externalPolicyChain = localPolicyChain;
      if (localEndpoints.length === 0) hasExternalEndpoints = false;
    }
    const externalTrafficChain = `KUBE-EXT-${hash}`;
    const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
    const fwChain = `KUBE-FW-${hash}`;
    const usesFWChain = hasEndpoints && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
    const loadBalancerTrafficChain = usesFWChain ? fwChain : externalTrafficChain;

    let internalFilterTarget = '';
    let internalFilterComment = '';
    let externalFilterTarget = '';
    let externalFilterComment = '';
    if (!hasEndpoints) {
      internalFilterTarget = externalFilterTarget = 'REJECT';
      internalFilterComment = externalFilterComment = `${spn} has no endpoints`;
    } else {
      if (!hasInternalEndpoints) {
        internalFilterTarget = 'DROP';
        internalFilterComment = `${spn} has no local endpoints`;
      }
      if (!hasExternalEndpoints) {
        externalFilterTarget = 'DROP';
        externalFilterComment = `${spn} has no local endpoints`;
      }
    }
    const dport = String(sp.port);
    const proto = ['-m', protocol, '-p', protocol];

    if (hasInternalEndpoints) {
      n('-A', 'KUBE-SERVICES', '-m', 'comment', '--comment', `${spn} cluster IP`, ...proto, '-d', sp.clusterIP, '--dport', dport, '-j', internalTrafficChain);
    } else {
      f('-A', 'KUBE-SERVICES', '-m', 'comment', '--comment', internalFilterComment, ...proto, '-d', sp.clusterIP, '--dport', dport, '-j', internalFilterTarget);
    }
    for (const externalIP of sp.externalIPs) {
      if (hasEndpoints) n('-A', 'KUBE-SERVICES', '-m', 'comment', '--comment', `${spn} external IP`, ...proto, '-d', externalIP, '--dport', dport, '-j', externalTrafficChain);
      if (!hasExternalEndpoints) f('-A', 'KUBE-EXTERNAL-SERVICES', '-m', 'comment', '--comment', externalFilterComment, ...proto, '-d', externalIP, '--dport', dport, '-j', externalFilterTarget);
    }
    for (const lbip of sp.loadBalancerVIPs) {
      if (hasEndpoints) n('-A', 'KUBE-SERVICES', '-m', 'comment', '--comment', `${spn} loadbalancer IP`, ...proto, '-d', lbip, '--dport', dport, '-j', loadBalancerTrafficChain);
      if (usesFWChain) f('-A', 'KUBE-PROXY-FIREWALL', '-m', 'comment', '--comment', `${spn} traffic not accepted by ${fwChain}`, ...proto, '-d', lbip, '--dport', dport, '-j', 'DROP');
    }
    if (!hasExternalEndpoints) {
      for (const lbip of sp.loadBalancerVIPs) {
        f('-A', 'KUBE-EXTERNAL-SERVICES', '-m', 'comment', '--comment', externalFilterComment, ...proto, '-d', lbip, '--dport', dport, '-j', externalFilterTarget);
      }
    }
    if (sp.nodePort !== 0) {
      const np = String(sp.nodePort);
      if (hasEndpoints) {
        if (localhostNodePorts && nfacctLocalhost) {
          n('-A', 'KUBE-NODEPORTS', '-m', 'comment', '--comment', spn, ...proto, '-d', '127.0.0.0/8', '--dport', np, '-m', 'nfacct', '--nfacct-name', LOCALHOST_NODEPORTS_NFACCT, '-j', externalTrafficChain);
        }
        n('-A', 'KUBE-NODEPORTS', '-m', 'comment', '--comment', spn, ...proto, '--dport', np, '-j', externalTrafficChain);
      }
      if (!hasExternalEndpoints) {
        f('-A', 'KUBE-EXTERNAL-SERVICES', '-m', 'comment', '--comment', externalFilterComment, '-m', 'addrtype', '--dst-type', 'LOCAL', ...proto, '--dport', np, '-j', externalFilterTarget);
      }
    }
    if (sp.healthCheckNodePort !== 0) {
      f('-A', 'KUBE-NODEPORTS', '-m', 'comment', '--comment', `${spn} health check node port`, '-m', 'tcp', '-p', 'tcp', '--dport', String(sp.healthCheckNodePort), '-j', 'ACCEPT');
    }

    // A partial sync rewrites only the changed Services' own chains; every chain still counts as active.
    const writeChains = input.changedServices === undefined || input.changedServices.has(`${sp.namespace}/${sp.serviceName}`);
    const sn = writeChains ? n : () => 0;
    const declareChain = (chain: string) => {
      activeNatChains.add(chain);
      if (writeChains) nat.chains.push(chain);
    };

    if (hasInternalEndpoints) {
      const args = ['-m', 'comment', '--comment', `${spn} cluster IP`, ...proto, '-d', sp.clusterIP, '--dport', dport];
      if (config.masqueradeAll) sn('-A', internalTrafficChain, ...args, '-j', 'KUBE-MARK-MASQ');
      else if (detector.kind !== 'none') sn('-A', internalTrafficChain, ...args, ...ifNotLocal(detector), '-j', 'KUBE-MARK-MASQ');
    }

    if (usesExternalTrafficChain) {
      declareChain(externalTrafficChain);
      if (!sp.externalPolicyLocal) {
        sn('-A', externalTrafficChain, '-m', 'comment', '--comment', `masquerade traffic for ${spn} external destinations`, '-j', 'KUBE-MARK-MASQ');
      } else {
        if (detector.kind !== 'none') {
          sn('-A', externalTrafficChain, '-m', 'comment', '--comment', `pod traffic for ${spn} external destinations`, ...ifLocal(detector), '-j', clusterPolicyChain);
        }
        sn('-A', externalTrafficChain, '-m', 'comment', '--comment', `masquerade LOCAL traffic for ${spn} external destinations`, '-m', 'addrtype', '--src-type', 'LOCAL', '-j', 'KUBE-MARK-MASQ');
        sn('-A', externalTrafficChain, '-m', 'comment', '--comment', `route LOCAL traffic for ${spn} external destinations`, '-m', 'addrtype', '--src-type', 'LOCAL', '-j', clusterPolicyChain);
      }
      if (hasExternalEndpoints) sn('-A', externalTrafficChain, '-j', externalPolicyChain);
    }

    if (usesFWChain) {
      declareChain(fwChain);
      const args = ['-A', fwChain, '-m', 'comment', '--comment', `${spn} loadbalancer IP`];
      let allowFromNode = false;
      for (const cidr of sp.loadBalancerSourceRanges) {
        sn(...args, '-s', cidr, '-j', externalTrafficChain);
        if (node.ips[0] !== undefined && CIDR.parse(cidr).contains(node.ips[0])) allowFromNode = true;
      }
      if (allowFromNode) for (const lbip of sp.loadBalancerVIPs) sn(...args, '-s', lbip, '-j', externalTrafficChain);
      sn('-A', fwChain, '-m', 'comment', '--comment', `other traffic to ${spn} will be dropped by KUBE-PROXY-FIREWALL`);
    }

    // Each endpoint's chain name is needed up to three times (affinity, load-balancing and its own chain).
    const sepNames = new Map<string, string>();
    const sepOf = (ep: EndpointInfo) => {
      let name = sepNames.get(ep.endpoint);
      if (name === undefined) sepNames.set(ep.endpoint, (name = servicePortEndpointChain(spn, protocol, ep.endpoint)));
      return name;
    };
    const writeServiceToEndpointRules = (svcChain: string, endpoints: readonly EndpointInfo[]) => {
      if (sp.sessionAffinity === 'ClientIP') {
        for (const ep of endpoints) {
          const sep = sepOf(ep);
          sn('-A', svcChain, ...comment(`${spn} -> ${ep.endpoint}`), '-m', 'recent', '--name', sep, '--rcheck', '--seconds', String(sp.stickyMaxAgeSeconds), '--reap', '-j', sep);
        }
      }
      endpoints.forEach((ep, i) => {
        const sep = sepOf(ep);
        const statistic = i < endpoints.length - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', computeProbability(endpoints.length - i)] : [];
        sn('-A', svcChain, ...comment(`${spn} -> ${ep.endpoint}`), ...statistic, '-j', sep);
      });
    };
    if (usesClusterPolicyChain) {
      declareChain(clusterPolicyChain);
      writeServiceToEndpointRules(clusterPolicyChain, clusterEndpoints);
    }
    if (usesLocalPolicyChain) {
      declareChain(localPolicyChain);
      writeServiceToEndpointRules(localPolicyChain, localEndpoints);
    }
    for (const ep of allReachableEndpoints) {
      const sep = sepOf(ep);
      declareChain(sep);
      sn('-A', sep, ...comment(spn), '-s', ep.ip, '-j', 'KUBE-MARK-MASQ');
      const affinity = sp.sessionAffinity === 'ClientIP' ? ['-m', 'recent', '--name', sep, '--set'] : [];
      sn('-A', sep, ...comment(spn), ...affinity, ...proto, '-j', 'DNAT', '--to-destination', ep.endpoint);
    }
  }

  for (const chain of host.existingNatChains ?? []) {
    if (isServiceChainName(chain) && !activeNatChains.has(chain)) {
      nat.chains.push(chain);
      nat.rules.push(`-X ${chain}`);
    }
  }

  const last = 'kubernetes service nodeports; NOTE: this must be the last rule in this chain';
  if (config.nodePortAddresses.length === 0) {
    n('-A', 'KUBE-SERVICES', '-m', 'comment', '--comment', last, '-m', 'addrtype', '--dst-type', 'LOCAL', ...(localhostNodePorts ? [] : ['!', '-d', '127.0.0.0/8']), '-j', 'KUBE-NODEPORTS');
  } else {
    for (const ip of nodePortAddressIPs(config, node)) {
      if (ip === '127.0.0.1' && !localhostNodePorts) continue;
      n('-A', 'KUBE-SERVICES', '-m', 'comment', '--comment', last, '-d', ip, '-j', 'KUBE-NODEPORTS');
    }
  }

  if (!tcpLiberal) f('-A', 'KUBE-FORWARD', '-m', 'conntrack', '--ctstate', 'INVALID', ...(nfacctInvalid ? ['-m', 'nfacct', '--nfacct-name', CT_STATE_INVALID_NFACCT] : []), '-j', 'DROP');
  f('-A', 'KUBE-FORWARD', '-m', 'comment', '--comment', 'kubernetes forwarding rules', '-m', 'mark', '--mark', `${mark}/${mark}`, '-j', 'ACCEPT');
  f('-A', 'KUBE-FORWARD', '-m', 'comment', '--comment', 'kubernetes forwarding conntrack rule', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');

  return [filter, nat];
}

/** Renders tables as iptables-restore text (`*table`, `:CHAIN - [0:0]`, rules, `COMMIT`). */
export function formatRestoreTables(tables: readonly RestoreTable[]): string {
  let out = '';
  for (const t of tables) {
    out += `*${t.name}\n`;
    for (const c of t.chains) out += `:${c} - [0:0]\n`;
    for (const r of t.rules) out += `${r}\n`;
    out += 'COMMIT\n';
  }
  return out;
}

/**
 * The iptables-restore input of one full kube-proxy sync (applied by kube-proxy with `--noflush`): what the real
 * kube-proxy on `input.node` writes for these Services and EndpointSlices.
 */
export function renderIptablesRestore(input: IptablesSyncInput): string {
  return formatRestoreTables(buildIptablesRestore(input));
}
