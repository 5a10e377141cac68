import {
  EndpointCondition, MAX_NODES, MAX_SERVICE_PORTS, MAX_SOURCE_RANGES, NodeFlag, ProtocolNumber, ProxyModeCode, SchedulerCode,
  ServicePortFlag, type Protocol,
} from './abi.js';
import type { AddressKind, DatapathOptions, EndpointInput, NodeConfig, ServiceAddressOptions, ServicePortPolicy } from './config.js';
import { toIPv4, toIPv4Cidr } from './ipv4.js';

// Validation at the public edge, shared by the WebAssembly datapath and the reference: TypeError for a wrong type,
// RangeError for a value out of range, each naming the argument.

export const U32_MAX = 0xffffffff;

export function checkU32(value: unknown, name: string, min = 0, max = U32_MAX): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`Expected \`${name}\` to be an integer, got ${typeof value === 'number' ? value : JSON.stringify(value)}`);
  }
  if (value < min || value > max) throw new RangeError(`Expected \`${name}\` to be an integer in ${min}…${max}, got ${value}`);
  return value;
}

export function checkProtocol(protocol: unknown, name = 'protocol'): number {
  const n = typeof protocol === 'string' ? ProtocolNumber[protocol as Protocol] : undefined;
  if (n === undefined) throw new TypeError(`Expected \`${name}\` to be "TCP", "UDP" or "SCTP", got ${JSON.stringify(protocol)}`);
  return n;
}

export function checkBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`Expected \`${name}\` to be a boolean, got ${JSON.stringify(value)}`);
  return value;
}

export function checkEnum<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new TypeError(`Expected \`${name}\` to be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** Validated options with defaults. */
export function normalizeOptions(options: DatapathOptions = {}): Required<DatapathOptions> {
  if (typeof options !== 'object' || options === null) throw new TypeError('Expected `options` to be an object');
  return {
    seed: checkU32(options.seed ?? 0, 'options.seed'),
    conntrackMax: checkU32(options.conntrackMax ?? 262_144, 'options.conntrackMax', 1, 1 << 26),
    nodeCapacity: checkU32(options.nodeCapacity ?? 16, 'options.nodeCapacity', 1, MAX_NODES),
    servicePortCapacity: checkU32(options.servicePortCapacity ?? 1024, 'options.servicePortCapacity', 1, MAX_SERVICE_PORTS),
    serviceAddressCapacity: checkU32(options.serviceAddressCapacity ?? 1024, 'options.serviceAddressCapacity', 1, 1 << 24),
  };
}

/** Node config → core arguments (mode, scheduler, flags, detector base, detector prefix). */
export function nodeArguments(config: NodeConfig = {}): [number, number, number, number, number, number, number] {
  if (typeof config !== 'object' || config === null) throw new TypeError('Expected `config` to be an object');
  const mode = checkEnum(config.mode, 'config.mode', ['iptables', 'nftables', 'ipvs'] as const, 'iptables');
  const scheduler = checkEnum(config.ipvsScheduler, 'config.ipvsScheduler', ['rr', 'lc', 'sh', 'mh'] as const, 'rr');
  let flags = 0;
  if (checkBoolean(config.masqueradeAll, 'config.masqueradeAll', false)) flags |= NodeFlag.masqueradeAll;
  if (checkBoolean(config.localhostNodePorts, 'config.localhostNodePorts', true) && mode === 'iptables') flags |= NodeFlag.localhostNodePorts;
  let base = 0;
  let prefix = 0;
  if (config.localTrafficDetector !== undefined && config.localTrafficDetector !== null) {
    ({ base, prefix } = toIPv4Cidr(config.localTrafficDetector, 'config.localTrafficDetector'));
    flags |= NodeFlag.hasDetector;
  }
  let serviceBase = 0;
  let servicePrefix = 0;
  if (config.serviceCIDR !== undefined && config.serviceCIDR !== null) {
    ({ base: serviceBase, prefix: servicePrefix } = toIPv4Cidr(config.serviceCIDR, 'config.serviceCIDR'));
    flags |= NodeFlag.hasServiceCIDR;
  }
  return [ProxyModeCode[mode], SchedulerCode[scheduler], flags, base, prefix, serviceBase, servicePrefix];
}

/** Service-port policy → core arguments (flags, affinity timeout). */
export function servicePortArguments(policy: ServicePortPolicy = {}): [number, number] {
  if (typeof policy !== 'object' || policy === null) throw new TypeError('Expected `policy` to be an object');
  let flags = 0;
  if (checkEnum(policy.internalTrafficPolicy, 'policy.internalTrafficPolicy', ['Cluster', 'Local'] as const, 'Cluster') === 'Local') flags |= ServicePortFlag.internalLocal;
  if (checkEnum(policy.externalTrafficPolicy, 'policy.externalTrafficPolicy', ['Cluster', 'Local'] as const, 'Cluster') === 'Local') flags |= ServicePortFlag.externalLocal;
  if (checkEnum(policy.sessionAffinity, 'policy.sessionAffinity', ['None', 'ClientIP'] as const, 'None') === 'ClientIP') flags |= ServicePortFlag.affinity;
  if (checkBoolean(policy.externallyAccessible, 'policy.externallyAccessible', false)) flags |= ServicePortFlag.externallyAccessible;
  const timeout = checkU32(policy.sessionAffinityTimeoutSeconds ?? 10800, 'policy.sessionAffinityTimeoutSeconds', 1, 86400 * 365);
  return [flags, timeout];
}

/** A validated endpoint: [ip, port | conditions, node (u32), id]. */
export function endpointWords(ep: EndpointInput, i: number): [number, number, number, number] {
  const where = `endpoints[${i}]`;
  if (typeof ep !== 'object' || ep === null) throw new TypeError(`Expected \`${where}\` to be an object`);
  const ip = toIPv4(ep.ip, `${where}.ip`);
  const port = checkU32(ep.port, `${where}.port`, 1, 65535);
  const node = ep.node === -1 ? U32_MAX : checkU32(ep.node, `${where}.node`, 0, U32_MAX - 1);
  let cond = 0;
  if (checkBoolean(ep.ready, `${where}.ready`, true)) cond |= EndpointCondition.ready;
  if (checkBoolean(ep.serving, `${where}.serving`, true)) cond |= EndpointCondition.serving;
  if (checkBoolean(ep.terminating, `${where}.terminating`, false)) cond |= EndpointCondition.terminating;
  const id = checkU32(ep.id ?? i, `${where}.id`, 0, U32_MAX - 1);
  return [ip, port | cond, node, id];
}


/** A node config's primary IP (`config.nodeIP`), or null for none. */
export function nodeIPOf(config: NodeConfig = {}): number | null {
  if (typeof config !== 'object' || config === null) throw new TypeError('Expected `config` to be an object');
  return config.nodeIP === undefined || config.nodeIP === null ? null : toIPv4(config.nodeIP, 'config.nodeIP');
}

/**
 * An address entry's validated `options.loadBalancerSourceRanges` as (base, prefix length) pairs: empty when
 * absent; only kind LoadBalancerIP takes ranges.
 */
export function sourceRangesOf(options: ServiceAddressOptions, kind: AddressKind): Array<{ base: number; prefix: number }> {
  if (typeof options !== 'object' || options === null) throw new TypeError('Expected `options` to be an object');
  const ranges = options.loadBalancerSourceRanges;
  if (ranges === undefined) return [];
  if (!Array.isArray(ranges)) throw new TypeError(`Expected \`options.loadBalancerSourceRanges\` to be an array of CIDR strings, got ${JSON.stringify(ranges)}`);
  if (ranges.length > 0 && kind !== 'LoadBalancerIP') {
    throw new TypeError(`\`options.loadBalancerSourceRanges\` applies to kind "LoadBalancerIP" only (kube-proxy ignores them elsewhere), got kind ${JSON.stringify(kind)}`);
  }
  if (ranges.length > MAX_SOURCE_RANGES) throw new RangeError(`Expected at most ${MAX_SOURCE_RANGES} \`options.loadBalancerSourceRanges\`, got ${ranges.length}`);
  return ranges.map((r: unknown, i) => toIPv4Cidr(r as string, `options.loadBalancerSourceRanges[${i}]`));
}
