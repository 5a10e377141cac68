export { type InstanceLimits, knownInstanceTypes, findInstanceLimits, instanceLimits, supportsPrefixDelegation, nearestInstanceTypes, editDistance } from './instance-limits.js';
export { type MaxPodsOptions, maxPods, effectiveENILimit, eksAmiDefaultMaxPods } from './max-pods.js';
export { type CniConfig, type RandomizeSnat, cniConfigFromEnv, warmIPTargetsDefined } from './config.js';
export { type CniIptablesOptions, type CniIptablesTable, CNI_CONNMARK, cniIptablesRules } from './iptables.js';
export { type SlotPool, type IpSlotPoolCore, BitmapSlotPool, IpSlotPoolAdapter } from './slot-pool.js';
export { type OwnershipIndex, MapOwnershipIndex, OWNER_MISS } from './ownership-index.js';
export { type SubnetSpec, type AddressOwner, type VpcBackends, type Ec2AddressError, AWS_RESERVED_PER_SUBNET, PREFIX_SIZE, Vpc, VpcSubnet } from './vpc.js';
export { type DataStoreStats, type Eni, type EniCidr, type TrackedAddress, DataStore } from './datastore.js';
export { type IpamdLogLine, type NodeIpamdOptions, IPAMD_TIMING, NodeIpamd } from './ipamd.js';
export {
  type VpcCniOptions,
  type EniStatus,
  type PodAddress,
  type NodeIpamStatus,
  type SubnetStatus,
  FAILED_CREATE_POD_SANDBOX,
  ENI_CONFIG_DEFAULT_NAME,
  VpcCni,
} from './vpc-cni.js';
export { sha1Hex, podHostVethName } from './sha1.js';
export { type PlanOptions, type PlanResult, type PlanRun, type PlanSnapshot, type RunOutReason, planAddresses } from './plan.js';
export { RULE_PRIORITY, renderIpRules, renderIpRoutes } from './routing.js';
export { type SnatPolicy, podEgressSource } from './snat.js';
