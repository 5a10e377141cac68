export { type InstanceLimits, knownInstanceTypes, findInstanceLimits, instanceLimits, supportsPrefixDelegation, nearestInstanceTypes, editDistance } from './instance-limits.js';
export { type MaxPodsOptions, maxPods, effectiveENILimit, eksAmiDefaultMaxPods } from './max-pods.js';
export { type CniConfig, type RandomizeSnat, cniConfigFromEnv, warmIPTargetsDefined } from './config.js';
export { type CniIptablesOptions, type CniIptablesTable, CNI_CONNMARK, cniIptablesRules } from './iptables.js';
export { type SlotPool, BitmapSlotPool } from './slot-pool.js';
