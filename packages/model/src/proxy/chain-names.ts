import { base32StdEncode } from './base32.js';
import { sha256 } from './sha256.js';

// kube-proxy's iptables chain names (pkg/proxy/iptables/proxier.go: portProtoHash, servicePortEndpointChainName).
// iptables limits chain names to 28 characters, hence the 16-character hash.

/** The 16-character hash of a service port: base32(sha256(servicePortName + protocol))[:16]; protocol lowercase. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return base32StdEncode(sha256(servicePortName + protocol.toLowerCase())).slice(0, 16);
}

/** `KUBE-SVC-…`: endpoint selection under traffic policy Cluster. */
export function servicePortPolicyClusterChain(servicePortName: string, protocol: string): string {
  return `KUBE-SVC-${portProtoHash(servicePortName, protocol)}`;
}

/** `KUBE-SVL-…`: endpoint selection among node-local endpoints (traffic policy Local). */
export function servicePortPolicyLocalChain(servicePortName: string, protocol: string): string {
  return `KUBE-SVL-${portProtoHash(servicePortName, protocol)}`;
}

/** `KUBE-EXT-…`: entry for external destinations (NodePort, externalIPs, load-balancer IPs). */
export function serviceExternalChain(servicePortName: string, protocol: string): string {
  return `KUBE-EXT-${portProtoHash(servicePortName, protocol)}`;
}

/** `KUBE-FW-…`: `loadBalancerSourceRanges` filtering. */
export function serviceFirewallChain(servicePortName: string, protocol: string): string {
  return `KUBE-FW-${portProtoHash(servicePortName, protocol)}`;
}

/**
 * `KUBE-SEP-…` of one endpoint of one service port: base32(sha256(servicePortName + protocol + endpoint))[:16],
 * `endpoint` as `IP:port`. Keyed by the service port, so one pod IP in two Services gets two chains.
 */
export function servicePortEndpointChain(servicePortName: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${base32StdEncode(sha256(servicePortName + protocol.toLowerCase() + endpoint)).slice(0, 16)}`;
}

/** True for the per-service chains kube-proxy owns and deletes when stale. */
export function isServiceChainName(chain: string): boolean {
  return /^KUBE-(SVC|SVL|SEP|FW|EXT)-/.test(chain);
}
