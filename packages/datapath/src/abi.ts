/**
 * The WebAssembly exports of the datapath core (`assembly/`), typed, with the record layouts and codes they share
 * with TypeScript. Every argument and result is a flat number (i32/u32 in wasm; u32 results that may exceed 2^31
 * are read back with `>>> 0`). Functions returning a status return 0 for ok and leave details in
 * `coreLastError()`/`coreLastErrorDetail()`; functions returning an id return it (≥ 0) or −status.
 * The LPM-table and IP-pool exports are typed in `abi-tables.ts`.
 */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  version(): number;
  /** Allocates the arenas; capacities are starting sizes (tables grow) except `conntrackMax`, a fixed maximum. */
  coreInit(nodeCapacity: number, servicePortCapacity: number, serviceAddressCapacity: number, conntrackMax: number, seed: number): number;
  /** Sets simulated time (seconds, never backwards). */
  coreSetTime(seconds: number): number;
  coreNow(): number;
  /** Removes expired conntrack and affinity entries; returns conntrack entries removed. */
  coreSweep(): number;
  /** Zeroed scratch memory; byte offset (0 when bytes = 0). */
  coreAlloc(bytes: number): number;
  coreFree(ptr: number): void;
  coreLastError(): number;
  coreLastErrorDetail(): number;

  /** Test hooks: the hash functions, for known vectors against the TypeScript port. */
  coreHsiphash32(value: number, keyLo: number, keyHi: number): number;
  coreDraw(flow: number, seed: number, k: number): number;
  coreFlowHash(node: number, protoIndex: number, src: number, sport: number, dst: number, dport: number): number;
  coreCtHash(tagKey: number, src: number, dst: number, ports: number): number;

  /** Adds a node: mode (ProxyModeCode), scheduler (SchedulerCode), NodeFlag bits, local-traffic detector CIDR, service CIDR. Id or −status. */
  coreAddNode(mode: number, scheduler: number, flags: number, detectorBase: number, detectorPrefix: number, serviceCidrBase: number, serviceCidrPrefix: number): number;
  coreConfigureNode(node: number, mode: number, scheduler: number, flags: number, detectorBase: number, detectorPrefix: number, serviceCidrBase: number, serviceCidrPrefix: number): number;
  /** Marks an IPv4 as local on a node; flags ADDRESS_NODEPORT accepts NodePorts on it, ADDRESS_KUBE_IPVS0 see there. */
  coreSetLocalAddress(node: number, ip: number, flags: number): number;
  coreRemoveLocalAddress(node: number, ip: number): number;

  /** Defines or updates a service-port's policy (ServicePortFlag bits, affinity timeout in seconds). */
  coreSetServicePort(id: number, flags: number, affinityTimeoutSeconds: number): number;
  coreRemoveServicePort(id: number): number;
  /** (IANA protocol, IPv4, port) → service-port, kind (AddressKindCode). CONFLICT if mapped to another. */
  coreAddServiceAddress(proto: number, ip: number, port: number, servicePort: number, kind: number): number;
  coreRemoveServiceAddress(proto: number, ip: number, port: number): number;
  /**
   * Replaces the loadBalancerSourceRanges of the load-balancer address (protocol, IPv4, port) with `count` u32
   * pairs (base, prefix length) at `ptr`; count 0 removes them. NOT_FOUND for no such address, BAD_ARGUMENT
   * (detail 5) when it is no load-balancer IP, TOO_LARGE over MAX_SOURCE_RANGES.
   */
  coreSetSourceRanges(proto: number, ip: number, port: number, ptr: number, count: number): number;
  /** Sets (has 1) or clears (has 0) a node's primary IP, for the source ranges' "allow from node". */
  coreSetNodeIP(node: number, ip: number, has: number): number;
  /** (IANA protocol, NodePort) → service-port; servicePort 0xFFFFFFFF clears. */
  coreSetNodePort(proto: number, port: number, servicePort: number): number;
  /** Adds (on 1) or removes (on 0) a port of KUBE-HEALTH-CHECK-NODE-PORT (ipvs mode's KUBE-IPVS-FILTER). */
  coreSetHealthCheckNodePort(port: number, on: number): number;
  coreServiceAddressCount(): number;
  coreServiceTableBytes(): number;

  /** Replaces one service-port's endpoints with `count` ENDPOINT_RECORD_BYTES records at `ptr`. */
  coreSetEndpoints(servicePort: number, ptr: number, count: number): number;
  coreEndpointCount(servicePort: number): number;
  coreClusterEndpointCount(servicePort: number): number;
  /** Bytes of one service-port's endpoint block. */
  coreEndpointBlockBytes(servicePort: number): number;

  coreSetConntrackTimeouts(proto: number, unassuredSeconds: number, assuredSeconds: number): number;
  /** ConntrackStat index → value. */
  coreConntrackStat(which: number): number;
  coreConntrackFlush(): void;
  /** Reserves the iptables statistic threshold table for k < len; returns its address for TypeScript to fill. */
  coreStatisticTable(len: number): number;
  coreStatisticTableLength(): number;
  coreAffinityCount(): number;
  /** IPVS lc counts of a destination: which 0 active, 1 inactive. */
  coreLcConnections(node: number, servicePort: number, virtualServerIP: number, endpointId: number, which: number): number;
  /** Number of (node, service-port, endpoint) affinity lists of iptables/nftables nodes. */
  coreRecentListCount(): number;
  coreLayout(which: number): number;

  /** Processes `count` PACKET_RECORD_BYTES records at `inPtr`, writing RESULT_RECORD_BYTES records at `outPtr`. */
  coreProcessBatch(inPtr: number, outPtr: number, count: number): number;
}

/** Status codes of the core. */
export const CoreStatus = {
  OK: 0,
  BAD_NODE: 1,
  BAD_SERVICE_PORT: 2,
  BAD_PROTOCOL: 3,
  BAD_ARGUMENT: 4,
  NOT_FOUND: 5,
  CONFLICT: 6,
  TOO_LARGE: 7,
  NOT_INITIALIZED: 8,
} as const;

/**
 * Packet record: 4 u32 words (16 bytes, four to a cache line). Word `nodeArrivalProtocol` packs the node id (bits
 * 0–15), the `ArrivalCode` (bits 16–23) and the IP protocol number (bits 24–31): see `packPacketHead`; word
 * `srcPortDstPort` the source port (bits 16–31) and destination port (bits 0–15): see `packPorts`.
 */
export const PACKET_RECORD_BYTES = 16;
export const PACKET_WORDS = 4;
export const Packet = { nodeArrivalProtocol: 0, srcIP: 1, dstIP: 2, srcPortDstPort: 3 } as const;

/**
 * Result record: 4 u32 words (16 bytes). Word `verdictFlags` packs the `Verdict` (bits 0–7) and the `ResultFlag`s
 * (bits 8–31); word `dstPortServicePort` the destination port after translation (bits 0–15) and the service-port id
 * (bits 16–31, 0xffff when none). Read them with `resultVerdict`, `resultFlags`, `resultDstPort` and
 * `resultServicePortId`; `endpointId` is 0xffffffff when none.
 */
export const RESULT_RECORD_BYTES = 16;
export const RESULT_WORDS = 4;
export const Result = { verdictFlags: 0, dstIP: 1, endpointId: 2, dstPortServicePort: 3 } as const;

/** A packet record's first word: node id (0…65,534), `ArrivalCode`, IP protocol number (6, 17 or 132). */
export function packPacketHead(node: number, arrival: number, protocol: number): number {
  return (node | (arrival << 16) | (protocol << 24)) >>> 0;
}
/** A packet record's last word: source port << 16 | destination port (ports 0…65,535). */
export function packPorts(srcPort: number, dstPort: number): number {
  return ((srcPort << 16) | dstPort) >>> 0;
}
/** The `Verdict` of a result record's `verdictFlags` word. */
export function resultVerdict(verdictFlags: number): VerdictCode {
  return (verdictFlags & 0xff) as VerdictCode;
}
/** The `ResultFlag` bits of a result record's `verdictFlags` word. */
export function resultFlags(verdictFlags: number): number {
  return verdictFlags >>> 8;
}
/** The destination port (after translation) of a result record's `dstPortServicePort` word. */
export function resultDstPort(dstPortServicePort: number): number {
  return dstPortServicePort & 0xffff;
}
/** The service-port id of a result record's `dstPortServicePort` word, or −1. */
export function resultServicePortId(dstPortServicePort: number): number {
  const id = dstPortServicePort >>> 16;
  return id === 0xffff ? -1 : id;
}

/** Endpoint record for coreSetEndpoints: IPv4, port | conditions << 16, node, endpoint id. */
export const ENDPOINT_RECORD_BYTES = 16;
export const EndpointCondition = { ready: 1 << 16, serving: 1 << 17, terminating: 1 << 18 } as const;

/** How a packet arrived at its node. */
export const ArrivalCode = { pod: 0, host: 1, external: 2 } as const;

/** Per-packet verdicts. */
export const Verdict = {
  /** Not a service address: routed unchanged, not tracked. */
  PASS: 0,
  /** Destination translated to an endpoint (a new connection, or a conntrack hit). */
  DNAT: 1,
  /** No usable endpoint anywhere (kube-proxy's REJECT); in nftables mode also a ClusterIP on a port no Service has. */
  REJECT: 2,
  /**
   * Traffic policy Local and no usable endpoint on this node (kube-proxy's DROP); in nftables mode also an
   * unallocated service-CIDR address; a source outside a load-balancer IP's source ranges (flag SOURCE_RANGES).
   */
  DROP: 3,
  /** The conntrack table is full and nothing could be evicted: the new connection is dropped. */
  DROP_CONNTRACK_FULL: 4,
  /** Bad packet record (unknown node, protocol or arrival). */
  INVALID: 5,
} as const;
export type VerdictCode = (typeof Verdict)[keyof typeof Verdict];

/** Per-packet flags. */
export const ResultFlag = {
  /** KUBE-MARK-MASQ was applied to this packet (new connections only). */
  MASQUERADE: 1,
  /** The connection's source is NATed to the node (new or established). */
  SNAT: 2,
  /** An established connection: conntrack answered, no selection. */
  CONNTRACK_HIT: 4,
  /** Session affinity chose the endpoint. */
  AFFINITY: 8,
  /** Making room in a full conntrack table evicted an entry. */
  EARLY_DROP: 16,
  /** Matched through a NodePort. */
  NODEPORT: 32,
  /** Local traffic policy: only this node's endpoints were candidates. */
  LOCAL_POLICY: 64,
  /** Dropped by the Service's loadBalancerSourceRanges firewall (a new connection to a load-balancer IP). */
  SOURCE_RANGES: 128,
} as const;

export const ProxyModeCode = { iptables: 0, nftables: 1, ipvs: 2 } as const;
export const SchedulerCode = { rr: 0, lc: 1, sh: 2, mh: 3 } as const;
export const NodeFlag = { masqueradeAll: 2, localhostNodePorts: 4, hasDetector: 8, hasServiceCIDR: 16 } as const;
export const ADDRESS_NODEPORT = 2;
/** coreSetLocalAddress flag: ipvs mode bound the address to kube-ipvs0 (it is no address of the node's own). */
export const ADDRESS_KUBE_IPVS0 = 4;
export const ServicePortFlag = { internalLocal: 2, externalLocal: 4, affinity: 8, externallyAccessible: 16 } as const;
export const AddressKindCode = { ClusterIP: 0, ExternalIP: 1, LoadBalancerIP: 2 } as const;
export const ConntrackStat = { entries: 0, max: 1, slots: 2, inserted: 3, earlyDrops: 4, drops: 5, expired: 6, bytes: 7 } as const;
/** coreLayout indices (for the TypeScript typed-array kernel). */
export const Layout = { spPtr: 0, svcPtr: 1, svcMask: 2, ctPtr: 3, ctMask: 4, statPtr: 5, nodesPtr: 6, nodeCount: 7, seed: 8, now: 9, nodePortPtr: 10, ctMax: 11, addrPtr: 12, addrMask: 13, clusterIPsPtr: 14, clusterIPsMask: 15 } as const;

/** Protocol numbers (IANA) by Kubernetes name. */
export const ProtocolNumber = { TCP: 6, UDP: 17, SCTP: 132 } as const;
export type Protocol = keyof typeof ProtocolNumber;
/** Largest service-port id + 1 and endpoints per service-port. */
export const MAX_SERVICE_PORTS = 65535;
export const MAX_ENDPOINTS_PER_SERVICE_PORT = 65535;
/** Most nodes per instance (ids 0 … MAX_NODES − 1): a packet record names its node in 16 bits. Mirrors NODE_MAX in assembly/nodes.ts. */
export const MAX_NODES = 65535;
/** Most loadBalancerSourceRanges per load-balancer address. */
export const MAX_SOURCE_RANGES = 4096;
/** Maglev table size of IPVS mh (primes[IP_VS_MH_TAB_INDEX] with the default index 12). */
export const MH_TABLE_SIZE = 4093;
