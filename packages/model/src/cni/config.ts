import type { AwsNodeEnv } from '../api/config.js';
import { CIDR } from '../ip/cidr.js';

/** `AWS_VPC_K8S_CNI_RANDOMIZESNAT`: `prng` → `--random-fully`, `hashrandom` → `--random`, `none` → no flag. */
export type RandomizeSnat = 'prng' | 'hashrandom' | 'none';

/**
 * The aws-node settings ipamd acts on, parsed from the DaemonSet's env with ipamd's own defaults and fallbacks
 * (the getters in `pkg/ipamd/ipamd.go`, `pkg/networkutils/network.go`, `pkg/ipamd/datastore/data_store.go`).
 */
export interface CniConfig {
  /** `WARM_ENI_TARGET`, default 1; negative or unparsable → 1. Ignored when WARM IP targets are set or in PD mode. */
  warmENITarget: number;
  /** `WARM_IP_TARGET`, 0 = unset; negative or unparsable → unset. */
  warmIPTarget: number;
  /** `MINIMUM_IP_TARGET`, 0 = unset. */
  minimumIPTarget: number;
  /** `WARM_PREFIX_TARGET`, default 0 (the manifest sets 1); negative or unparsable → 0. PD only. */
  warmPrefixTarget: number;
  /** `ENABLE_PREFIX_DELEGATION`, default false (falls back to secondary IPs on non-Nitro instances). */
  enablePrefixDelegation: boolean;
  /** `MAX_ENI`: ≥ 1 caps the instance's ENI limit; otherwise −1 (the instance limit). */
  maxENI: number;
  /** `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG`, default false. */
  customNetworking: boolean;
  /** `ENI_CONFIG_ANNOTATION_DEF`, default `k8s.amazonaws.com/eniConfig`. */
  eniConfigAnnotationDef: string;
  /** `ENI_CONFIG_LABEL_DEF`, default `k8s.amazonaws.com/eniConfig` (often set to `topology.kubernetes.io/zone`). */
  eniConfigLabelDef: string;
  /** `AWS_VPC_K8S_CNI_EXTERNALSNAT`, default false. */
  externalSnat: boolean;
  /** `AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS`: the valid IPv4 CIDRs of the comma-separated list (invalid items skipped). */
  excludeSnatCIDRs: string[];
  /** `AWS_VPC_K8S_CNI_RANDOMIZESNAT`, default `prng`; anything else → `prng`. */
  randomizeSnat: RandomizeSnat;
  /** `AWS_VPC_CNI_NODE_PORT_SUPPORT`, default true. */
  nodePortSupport: boolean;
  /** `AWS_VPC_K8S_CNI_VETHPREFIX`, default `eni`. */
  vethPrefix: string;
  /** `IP_COOLDOWN_PERIOD` in seconds, default 30. */
  ipCooldownPeriod: number;
  /** `ENABLE_SUBNET_DISCOVERY`, default true: an IP allocation refused by one ENI's subnet moves on to the next ENI. */
  subnetDiscovery: boolean;
  /** `ENABLE_POD_ENI`, default false: one ENI slot is kept for the trunk ENI. */
  enablePodENI: boolean;
  /** `DISABLE_NETWORK_RESOURCE_PROVISIONING` or `ENABLE_IMDS_ONLY_MODE`: ipamd attaches nothing. */
  disableENIProvisioning: boolean;
  /** `AWS_MANAGE_ENIS_NON_SCHEDULABLE`, default false. */
  manageENIsNonSchedulable: boolean;
  /** What ipamd would log about the env (fallbacks, unsupported settings). */
  warnings: string[];
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's `strconv.ParseBool`; anything else (or unset) → `fallback`, with a warning as ipamd logs one. */
function envBool(env: AwsNodeEnv, name: string, fallback: boolean, warnings: string[]): boolean {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  warnings.push(`Failed to parse ${name}=${JSON.stringify(v)}; using default: ${fallback}`);
  return fallback;
}

/** Go's `strconv.Atoi` on a decimal string, or undefined. */
function goAtoi(v: string | undefined): number | undefined {
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return undefined;
  const n = Number.parseInt(v, 10);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** An integer env var: set and parsable and accepted by `ok` → its value; otherwise `fallback` (warned when set). */
function envInt(env: AwsNodeEnv, name: string, fallback: number, ok: (n: number) => boolean, warnings: string[]): number {
  const raw = env[name];
  if (raw === undefined) return fallback;
  const n = goAtoi(raw);
  if (n !== undefined && ok(n)) return n;
  warnings.push(`Ignoring ${name}=${JSON.stringify(raw)}; using ${fallback}`);
  return fallback;
}

/** Parses the `aws-node` env into ipamd's settings. Never throws: invalid values take ipamd's fallback. */
export function cniConfigFromEnv(env: AwsNodeEnv = {}): CniConfig {
  const warnings: string[] = [];
  const excludeSnatCIDRs: string[] = [];
  for (const item of (env.AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS ?? '').split(',')) {
    const text = item.trim();
    if (!text) continue;
    try {
      const c = CIDR.parse(text);
      if (c.family === 'IPv4') excludeSnatCIDRs.push(c.toString());
      else warnings.push(`AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: ${text} is not IPv4; skipped`);
    } catch {
      warnings.push(`AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: ${JSON.stringify(text)} is not a valid CIDR; skipped`);
    }
  }
  const rs = env.AWS_VPC_K8S_CNI_RANDOMIZESNAT;
  let randomizeSnat: RandomizeSnat = 'prng';
  if (rs === 'hashrandom' || rs === 'none' || rs === 'prng') randomizeSnat = rs;
  else if (rs !== undefined && rs !== '') warnings.push(`Failed to parse AWS_VPC_K8S_CNI_RANDOMIZESNAT=${JSON.stringify(rs)}; using default: prng`);

  const config: CniConfig = {
    warmENITarget: envInt(env, 'WARM_ENI_TARGET', 1, (n) => n >= 0, warnings),
    warmIPTarget: envInt(env, 'WARM_IP_TARGET', 0, (n) => n >= 0, warnings),
    minimumIPTarget: envInt(env, 'MINIMUM_IP_TARGET', 0, (n) => n >= 0, warnings),
    warmPrefixTarget: envInt(env, 'WARM_PREFIX_TARGET', 0, (n) => n >= 0, warnings),
    enablePrefixDelegation: envBool(env, 'ENABLE_PREFIX_DELEGATION', false, warnings),
    maxENI: envInt(env, 'MAX_ENI', -1, (n) => n >= 1, warnings),
    customNetworking: envBool(env, 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG', false, warnings),
    eniConfigAnnotationDef: env.ENI_CONFIG_ANNOTATION_DEF || 'k8s.amazonaws.com/eniConfig',
    eniConfigLabelDef: env.ENI_CONFIG_LABEL_DEF || 'k8s.amazonaws.com/eniConfig',
    externalSnat: envBool(env, 'AWS_VPC_K8S_CNI_EXTERNALSNAT', false, warnings),
    excludeSnatCIDRs,
    randomizeSnat,
    nodePortSupport: envBool(env, 'AWS_VPC_CNI_NODE_PORT_SUPPORT', true, warnings),
    vethPrefix: env.AWS_VPC_K8S_CNI_VETHPREFIX || 'eni',
    ipCooldownPeriod: envInt(env, 'IP_COOLDOWN_PERIOD', 30, (n) => n >= 0, warnings),
    subnetDiscovery: envBool(env, 'ENABLE_SUBNET_DISCOVERY', true, warnings),
    enablePodENI: envBool(env, 'ENABLE_POD_ENI', false, warnings),
    disableENIProvisioning:
      envBool(env, 'DISABLE_NETWORK_RESOURCE_PROVISIONING', false, warnings) || envBool(env, 'ENABLE_IMDS_ONLY_MODE', false, warnings),
    manageENIsNonSchedulable: envBool(env, 'AWS_MANAGE_ENIS_NON_SCHEDULABLE', false, warnings),
    warnings,
  };
  if (envBool(env, 'ENABLE_IPv6', false, warnings)) {
    warnings.push('ENABLE_IPv6=true is not simulated: kube-netsim models the IPv4 VPC CNI only');
  }
  return config;
}

/** True when `WARM_IP_TARGET` or `MINIMUM_IP_TARGET` is set (`warmIPTargetsDefined`). */
export function warmIPTargetsDefined(config: Pick<CniConfig, 'warmIPTarget' | 'minimumIPTarget'>): boolean {
  return config.warmIPTarget !== 0 || config.minimumIPTarget !== 0;
}
