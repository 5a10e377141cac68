import { ipv4ToInt } from '../ip/address.js';
import { CIDR } from '../ip/cidr.js';

/** What decides the source address of pod traffic leaving a node (AWS-SNAT-CHAIN-0). */
export interface SnatPolicy {
  vpcCIDRs: string[];
  excludeSnatCIDRs?: string[];
  externalSnat?: boolean;
  /** The node's primary IP (the SNAT source). */
  nodePrimaryIP: string;
}

/**
 * The source address a pod's packet to `destination` leaves the node with: the pod IP when the destination is in
 * a VPC CIDR or an `AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS` entry, or when external SNAT is on; else the node's
 * primary IP (SNAT in POSTROUTING, `--random-fully` ports). Destinations that are the node's own addresses are
 * never SNATed (`! --dst-type LOCAL`); pass them in `localAddresses`.
 */
export function podEgressSource(policy: SnatPolicy, podIP: string, destination: string, localAddresses: readonly string[] = []): string {
  if (policy.externalSnat) return podIP;
  if (localAddresses.includes(destination)) return podIP;
  const d = ipv4ToInt(destination);
  const exempt = [...policy.vpcCIDRs, ...(policy.excludeSnatCIDRs ?? [])].some((c) => CIDR.parse(c).containsInt(d));
  return exempt ? podIP : policy.nodePrimaryIP;
}
