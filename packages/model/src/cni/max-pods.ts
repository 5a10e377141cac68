import { type InstanceLimits, supportsPrefixDelegation } from './instance-limits.js';

/** Which formula to apply (`max-pods-calculator.sh` of awslabs/amazon-eks-ami; `misc/eni-max-pods.txt`). */
export interface MaxPodsOptions {
  /** `ENABLE_PREFIX_DELEGATION=true`: each ENI slot holds a /28 (16 addresses). Ignored where PD is unsupported. */
  prefixDelegation?: boolean;
  /** `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true`: the primary ENI carries no pods. */
  customNetworking?: boolean;
  /** `MAX_ENI` / `--cni-max-eni`: caps the ENI count when ≥ 1. */
  maxENI?: number;
  /** vCPUs of the instance: applies the calculator's cap (110 up to 30 vCPUs, else 250). The data has no vCPUs. */
  capVCPUs?: number;
}

/** The ENIs counted by the formula: the instance limit, capped by `MAX_ENI` when that is ≥ 1 (`getMaxENI`). */
export function effectiveENILimit(limits: InstanceLimits, maxENI?: number): number {
  return maxENI !== undefined && maxENI >= 1 && maxENI < limits.eniLimit ? maxENI : limits.eniLimit;
}

/**
 * Max pods for an instance type:
 * secondary IPs `ENIs × (IPv4 − 1) + 2`; custom networking `(ENIs − 1) × (IPv4 − 1) + 2`;
 * prefix delegation `ENIs × (IPv4 − 1) × 16 + 2` (custom networking and PD: `(ENIs − 1) × …`).
 * The +2 is for the host-network pods (aws-node, kube-proxy). With `capVCPUs` the EKS calculator's cap applies.
 */
export function maxPods(limits: InstanceLimits, options: MaxPodsOptions = {}): number {
  const enis = effectiveENILimit(limits, options.maxENI) - (options.customNetworking ? 1 : 0);
  const slots = limits.ipv4PerEni - 1;
  const pd = options.prefixDelegation === true && supportsPrefixDelegation(limits);
  const value = Math.max(enis, 0) * slots * (pd ? 16 : 1) + 2;
  if (options.capVCPUs === undefined) return value;
  return Math.min(value, options.capVCPUs > 30 ? 250 : 110);
}

/**
 * The kubelet's max pods the EKS AMI sets when nothing else does: the uncapped secondary-IP formula
 * (`eni-max-pods.txt`), whatever prefix delegation or custom networking say (the AMI does not know them).
 */
export function eksAmiDefaultMaxPods(limits: InstanceLimits): number {
  return maxPods(limits);
}
