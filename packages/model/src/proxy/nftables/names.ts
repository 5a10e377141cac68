import { base32StdEncode } from '../base32.js';
import { sha256 } from '../sha256.js';

// kube-proxy's nftables object names (pkg/proxy/nftables/proxier.go: hashAndTruncate,
// servicePortChainNameBase, servicePortEndpointChainNameBase).

/** knftables.NameLengthMax (256) minus the longest prefix kube-proxy puts in front (16). */
const CHAIN_NAME_BASE_LENGTH_MAX = 240;

/** `base32(sha256(name))[:8] + "-" + name`, cut to 240 characters with a trailing `...` when longer. */
export function hashAndTruncate(name: string): string {
  const hashed = `${base32StdEncode(sha256(name)).slice(0, 8)}-${name}`;
  return hashed.length > CHAIN_NAME_BASE_LENGTH_MAX ? `${hashed.slice(0, CHAIN_NAME_BASE_LENGTH_MAX - 3)}...` : hashed;
}

/** The parts of a service port a chain name is built from (protocol lower-case: `tcp`, `udp`, `sctp`). */
export interface NftServicePortName {
  namespace: string;
  serviceName: string;
  portName: string;
  protocol: string;
}

/** `HASH-ns/name/proto/portName`, e.g. `ULMVA6XW-ns1/svc1/tcp/p80`. */
export function servicePortChainNameBase(sp: NftServicePortName): string {
  return hashAndTruncate(`${sp.namespace}/${sp.serviceName}/${sp.protocol.toLowerCase()}/${sp.portName}`);
}

/** `HASH-ns/name/proto/portName__IP/port`; IPv6 colons become dots (colons are not allowed in names). */
export function servicePortEndpointChainNameBase(sp: NftServicePortName, ip: string, port: number): string {
  const base = `${sp.namespace}/${sp.serviceName}/${sp.protocol.toLowerCase()}/${sp.portName}`;
  return hashAndTruncate(`${base}__${ip.replaceAll(':', '.')}/${port}`);
}

/** The chain and set names of one service port: `service-`, `local-`, `external-`, `firewall-` + base. */
export interface NftServicePortChains {
  clusterPolicy: string;
  localPolicy: string;
  external: string;
  firewall: string;
}

export function nftServicePortChains(sp: NftServicePortName): NftServicePortChains {
  const base = servicePortChainNameBase(sp);
  return { clusterPolicy: `service-${base}`, localPolicy: `local-${base}`, external: `external-${base}`, firewall: `firewall-${base}` };
}

/** `endpoint-` + base (the endpoint's chain) and `affinity-` + base (its ClientIP affinity set). */
export function nftEndpointNames(sp: NftServicePortName, ip: string, port: number): { chain: string; affinitySet: string } {
  const base = servicePortEndpointChainNameBase(sp, ip, port);
  return { chain: `endpoint-${base}`, affinitySet: `affinity-${base}` };
}
