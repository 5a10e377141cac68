import type { KubeProxyConfiguration, ProxyMode } from '../api/config.js';
import { KubeNetsimError } from '../errors.js';
import { CIDR } from '../ip/cidr.js';

/**
 * kube-proxy's local-traffic detector (pkg/proxy/util/localdetector.go): how rules tell pod traffic from other
 * traffic. `none` (no `clusterCIDR`, as on EKS) writes no such rules.
 */
export type LocalTrafficDetector =
  | { kind: 'none' }
  | { kind: 'cidr'; cidr: string }
  | { kind: 'interface'; name: string };

/** iptables arguments matching pod traffic (`IfLocal`), e.g. `-s 10.0.0.0/8`; empty for `none`. */
export function ifLocal(d: LocalTrafficDetector): string[] {
  if (d.kind === 'cidr') return ['-s', d.cidr];
  if (d.kind === 'interface') return ['-i', d.name];
  return [];
}

/** iptables arguments matching non-pod traffic (`IfNotLocal`), e.g. `! -s 10.0.0.0/8`; empty for `none`. */
export function ifNotLocal(d: LocalTrafficDetector): string[] {
  if (d.kind === 'cidr') return ['!', '-s', d.cidr];
  if (d.kind === 'interface') return ['!', '-i', d.name];
  return [];
}

/** A `KubeProxyConfiguration` with every default filled in (the EKS add-on's when it differs). */
export interface ResolvedKubeProxyConfiguration {
  mode: ProxyMode;
  hostnameOverride: string | undefined;
  /** `clusterCIDR`, split on commas; empty on EKS. */
  clusterCIDRs: string[];
  detectLocalMode: 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';
  /** Detector for the given settings; `NodeCIDR` needs the node's podCIDR, see `localDetectorFor`. */
  localDetector: LocalTrafficDetector;
  masqueradeAll: boolean;
  /** Bit of the packet mark used for masquerade (default 14). */
  masqueradeBit: number;
  /** `fmt.Sprintf("%#08x", 1<<masqueradeBit)`: `0x00004000` by default. */
  masqueradeMark: string;
  /** Accept NodePorts on 127.0.0.0/8 (iptables mode, IPv4). Default true. */
  localhostNodePorts: boolean;
  /** CIDRs or `primary`; empty means every local address. */
  nodePortAddresses: string[];
  nftablesMasqueradeAll: boolean;
  nftablesMasqueradeBit: number;
  ipvsScheduler: string;
  ipvsStrictARP: boolean;
  conntrack: {
    maxPerCore: number;
    min: number;
    /** Seconds. */
    tcpEstablishedTimeout: number;
    /** Seconds. */
    tcpCloseWaitTimeout: number;
    /** Seconds; 0 leaves the kernel's value. */
    udpTimeout: number;
    /** Seconds; 0 leaves the kernel's value. */
    udpStreamTimeout: number;
    tcpBeLiberal: boolean;
  };
  /** Seconds. */
  syncPeriod: number;
  /** Seconds. */
  minSyncPeriod: number;
}

/**
 * `masqueradeBit` → the mark kube-proxy writes, `fmt.Sprintf("%#08x", 1<<bit)`. Go zero-pads the digits to the
 * width and then adds `0x`, so bit 14 gives `0x00004000` (kube-proxy logs it so); iptables-save prints `0x4000`.
 */
export function masqueradeMarkOf(bit: number): string {
  return `0x${(2 ** bit).toString(16).padStart(8, '0')}`;
}

/** Go duration text (`1h30m`, `10s`, `500ms`) → seconds. */
export function parseGoDuration(text: string, field: string): number {
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
  let total = 0;
  let consumed = '';
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const unit = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 }[m[2] as 'h'];
    total += Number(m[1]) * unit;
    consumed += m[0];
  }
  if (text === '0') return 0;
  if (consumed !== text || text === '') {
    throw new KubeNetsimError('E_PROXY_CONFIG', `Expected ${field} to be a duration such as 30s or 1h, got ${JSON.stringify(text)}`, {
      object: 'KubeProxyConfiguration',
    });
  }
  return total;
}

function checkBit(bit: number, field: string): number {
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) {
    throw new KubeNetsimError('E_PROXY_CONFIG', `Expected ${field} to be an integer from 0 to 31, got ${bit}`, { object: 'KubeProxyConfiguration' });
  }
  return bit;
}

/**
 * Fills in a `KubeProxyConfiguration` as kube-proxy v1.33 defaults it, with the EKS add-on's settings where they
 * differ (mode iptables, no clusterCIDR and so no local-traffic detector). Throws `E_PROXY_CONFIG` on values
 * kube-proxy would reject.
 */
export function resolveKubeProxyConfiguration(c?: KubeProxyConfiguration): ResolvedKubeProxyConfiguration {
  const mode: ProxyMode = c?.mode ? c.mode : 'iptables';
  if (!['iptables', 'ipvs', 'nftables'].includes(mode)) {
    throw new KubeNetsimError('E_PROXY_CONFIG', `Expected mode to be iptables, ipvs or nftables, got ${JSON.stringify(mode)}`, {
      object: 'KubeProxyConfiguration',
    });
  }
  const clusterCIDRs = (c?.clusterCIDR ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const cidr of clusterCIDRs) CIDR.parse(cidr, 'KubeProxyConfiguration clusterCIDR');
  const detectLocalMode = c?.detectLocalMode ? c.detectLocalMode : 'ClusterCIDR';
  const localDetector = localDetectorFor(detectLocalMode, clusterCIDRs, c?.detectLocal, undefined);
  const masqueradeBit = checkBit(mode === 'nftables' ? (c?.nftables?.masqueradeBit ?? c?.iptables?.masqueradeBit ?? 14) : (c?.iptables?.masqueradeBit ?? 14), 'masqueradeBit');
  const nodePortAddresses = (c?.nodePortAddresses ?? []).map((a) => a.trim());
  for (const a of nodePortAddresses) if (a !== 'primary') CIDR.parse(a, 'KubeProxyConfiguration nodePortAddresses entry');
  const ct = c?.conntrack ?? {};
  return {
    mode,
    hostnameOverride: c?.hostnameOverride || undefined,
    clusterCIDRs,
    detectLocalMode,
    localDetector,
    masqueradeAll: mode === 'nftables' ? (c?.nftables?.masqueradeAll ?? c?.iptables?.masqueradeAll ?? false) : (c?.iptables?.masqueradeAll ?? false),
    masqueradeBit,
    masqueradeMark: masqueradeMarkOf(masqueradeBit),
    localhostNodePorts: c?.iptables?.localhostNodePorts ?? true,
    nodePortAddresses,
    nftablesMasqueradeAll: c?.nftables?.masqueradeAll ?? false,
    nftablesMasqueradeBit: checkBit(c?.nftables?.masqueradeBit ?? 14, 'nftables.masqueradeBit'),
    ipvsScheduler: c?.ipvs?.scheduler ? c.ipvs.scheduler : 'rr',
    ipvsStrictARP: c?.ipvs?.strictARP ?? false,
    conntrack: {
      maxPerCore: ct.maxPerCore ?? 32768,
      min: ct.min ?? 131072,
      tcpEstablishedTimeout: parseGoDuration(ct.tcpEstablishedTimeout ?? '24h', 'conntrack.tcpEstablishedTimeout'),
      tcpCloseWaitTimeout: parseGoDuration(ct.tcpCloseWaitTimeout ?? '1h', 'conntrack.tcpCloseWaitTimeout'),
      udpTimeout: parseGoDuration(ct.udpTimeout ?? '0s', 'conntrack.udpTimeout'),
      udpStreamTimeout: parseGoDuration(ct.udpStreamTimeout ?? '0s', 'conntrack.udpStreamTimeout'),
      tcpBeLiberal: ct.tcpBeLiberal ?? false,
    },
    syncPeriod: parseGoDuration((mode === 'ipvs' ? c?.ipvs?.syncPeriod : mode === 'nftables' ? c?.nftables?.syncPeriod : c?.iptables?.syncPeriod) ?? '30s', 'syncPeriod'),
    minSyncPeriod: parseGoDuration((mode === 'ipvs' ? c?.ipvs?.minSyncPeriod : mode === 'nftables' ? c?.nftables?.minSyncPeriod : c?.iptables?.minSyncPeriod) ?? '1s', 'minSyncPeriod'),
  };
}

/**
 * The effective detector (pkg/proxy/server_linux.go: getLocalDetector): ClusterCIDR with no clusterCIDR, or
 * NodeCIDR with no podCIDR, gives `none`.
 */
export function localDetectorFor(
  mode: ResolvedKubeProxyConfiguration['detectLocalMode'],
  clusterCIDRs: readonly string[],
  detectLocal: KubeProxyConfiguration['detectLocal'],
  nodePodCIDRs: readonly string[] | undefined,
): LocalTrafficDetector {
  const firstIPv4 = (cidrs: readonly string[] | undefined) => cidrs?.map((t) => CIDR.parse(t)).find((c) => c.family === 'IPv4');
  switch (mode) {
    case 'ClusterCIDR': {
      const c = firstIPv4(clusterCIDRs);
      return c ? { kind: 'cidr', cidr: c.toString() } : { kind: 'none' };
    }
    case 'NodeCIDR': {
      const c = firstIPv4(nodePodCIDRs);
      return c ? { kind: 'cidr', cidr: c.toString() } : { kind: 'none' };
    }
    case 'BridgeInterface':
      return detectLocal?.bridgeInterface ? { kind: 'interface', name: detectLocal.bridgeInterface } : { kind: 'none' };
    case 'InterfaceNamePrefix':
      return detectLocal?.interfaceNamePrefix ? { kind: 'interface', name: `${detectLocal.interfaceNamePrefix}+` } : { kind: 'none' };
  }
}
