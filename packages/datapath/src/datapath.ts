import {
  ADDRESS_KUBE_IPVS0, ADDRESS_NODEPORT, AddressKindCode, ConntrackStat, CoreStatus, ENDPOINT_RECORD_BYTES, MAX_ENDPOINTS_PER_SERVICE_PORT,
  MAX_SERVICE_PORTS, PACKET_RECORD_BYTES, type CoreExports, type Protocol,
} from './abi.js';
import type { AddressKind, ConntrackStats, DatapathOptions, EndpointInput, LocalAddressOptions, NodeConfig, ServiceAddressOptions, ServicePortPolicy } from './config.js';
import { DatapathError } from './errors.js';
import { toIPv4 } from './ipv4.js';
import { U32_MAX, checkBoolean, checkProtocol, checkU32, endpointWords, nodeArguments, nodeIPOf, servicePortArguments, sourceRangesOf } from './validate.js';
import { statisticThresholds } from './iptables-probability.js';
import { PacketBatch } from './packet-batch.js';

/**
 * One datapath instance: a set of nodes with shared service and endpoint tables and per-node conntrack, scheduler
 * and affinity state, in one WebAssembly instance. Create it with `loadDatapath()`. `exports` and `memory` are the
 * raw instance's, for table wrappers that bind to the same instance (`LpmTable`, `IpPool`).
 */
export class Datapath {
  /** The raw WebAssembly exports (core and tables). */
  readonly exports: CoreExports & Record<string, unknown>;
  readonly memory: WebAssembly.Memory;
  readonly seed: number;
  #scratch = 0;
  #scratchBytes = 0;

  /** @internal Use `loadDatapath()`. */
  constructor(instance: WebAssembly.Instance, options: Required<DatapathOptions>) {
    this.exports = instance.exports as unknown as CoreExports & Record<string, unknown>;
    this.memory = this.exports.memory;
    this.seed = options.seed;
    this.#check(this.exports.coreInit(options.nodeCapacity, options.servicePortCapacity, options.serviceAddressCapacity, options.conntrackMax, options.seed), 'init');
    this.#ensureStatistic(64);
  }

  #ensureStatistic(k: number): void {
    if (this.exports.coreStatisticTableLength() > k) return;
    const length = Math.min(65536, Math.max(64, 2 ** Math.ceil(Math.log2(k + 1))));
    const table = statisticThresholds(length);
    const ptr = this.exports.coreStatisticTable(length);
    new Uint32Array(this.memory.buffer, ptr, length).set(table);
  }

  #scratchFor(bytes: number): number {
    if (bytes > this.#scratchBytes) {
      if (this.#scratch) this.exports.coreFree(this.#scratch);
      this.#scratchBytes = Math.max(bytes, 1024);
      this.#scratch = this.exports.coreAlloc(this.#scratchBytes);
    }
    return this.#scratch;
  }

  /** Turns a core status into the right error. */
  #check(status: number, what: string): void {
    if (status === CoreStatus.OK) return;
    const detail = this.exports.coreLastErrorDetail();
    switch (status) {
      case CoreStatus.BAD_NODE:
        throw new RangeError(`${what}: expected \`node\` to be a node id returned by addNode(), got ${detail}`);
      case CoreStatus.BAD_SERVICE_PORT:
        throw new RangeError(`${what}: service-port ${detail >>> 0} is not defined; call setServicePort(${detail >>> 0}, …) first`);
      case CoreStatus.BAD_PROTOCOL:
        throw new TypeError(`${what}: unsupported protocol number ${detail}`);
      case CoreStatus.CONFLICT:
        throw new DatapathError('E_DATAPATH_CONFLICT', `${what}: already mapped to service-port ${detail}; remove that mapping first`);
      case CoreStatus.NOT_FOUND:
        throw new DatapathError('E_DATAPATH_NOT_FOUND', `${what}: no such entry`);
      case CoreStatus.TOO_LARGE:
        throw new DatapathError('E_DATAPATH_LIMIT', `${what}: ${detail} exceeds the datapath's limit`);
      default:
        throw new RangeError(`${what}: invalid argument (core status ${status}, detail ${detail})`);
    }
  }

  /** Adds a node (one kube-proxy); returns its id (0, 1, 2, …). */
  addNode(config: NodeConfig = {}): number {
    const args = nodeArguments(config);
    const nodeIP = nodeIPOf(config);
    const id = this.exports.coreAddNode(...args);
    if (id < 0) this.#check(-id, 'addNode');
    if (nodeIP !== null) this.#check(this.exports.coreSetNodeIP(id, nodeIP, 1), 'addNode');
    return id;
  }

  /** Changes a node's kube-proxy configuration (`nodeIP` too); its conntrack and scheduler state stay. */
  configureNode(node: number, config: NodeConfig = {}): void {
    checkU32(node, 'node');
    const args = nodeArguments(config);
    const nodeIP = nodeIPOf(config);
    this.#check(this.exports.coreConfigureNode(node, ...args), 'configureNode');
    this.#check(this.exports.coreSetNodeIP(node, nodeIP ?? 0, nodeIP === null ? 0 : 1), 'configureNode');
  }

  /**
   * Marks an IPv4 address as local on `node` (`--dst-type LOCAL`); `nodePort` also accepts NodePorts on it.
   * `kubeIpvs0` (ipvs mode): kube-proxy bound this Service address to kube-ipvs0; without it, a local address that is
   * also a Service's external or load-balancer IP is one of the node's own, which kube-proxy does not bind, so
   * KUBE-IPVS-FILTER does not reject other ports of it.
   */
  setLocalAddress(node: number, ip: string | number, options: LocalAddressOptions = {}): void {
    checkU32(node, 'node');
    const nodePort = checkBoolean(options.nodePort, 'options.nodePort', true);
    const kubeIpvs0 = checkBoolean(options.kubeIpvs0, 'options.kubeIpvs0', false);
    const flags = (nodePort ? ADDRESS_NODEPORT : 0) | (kubeIpvs0 ? ADDRESS_KUBE_IPVS0 : 0);
    this.#check(this.exports.coreSetLocalAddress(node, toIPv4(ip, 'ip'), flags), 'setLocalAddress');
  }

  removeLocalAddress(node: number, ip: string | number): void {
    checkU32(node, 'node');
    this.#check(this.exports.coreRemoveLocalAddress(node, toIPv4(ip, 'ip')), 'removeLocalAddress');
  }

  /** Defines or updates service-port `id` (0 … 65534); its endpoints are kept. */
  setServicePort(id: number, policy: ServicePortPolicy = {}): void {
    checkU32(id, 'id', 0, MAX_SERVICE_PORTS - 1);
    this.#check(this.exports.coreSetServicePort(id, ...servicePortArguments(policy)), 'setServicePort');
  }

  /** Removes a service-port with its endpoints, addresses and NodePorts. */
  removeServicePort(id: number): void {
    checkU32(id, 'id', 0, MAX_SERVICE_PORTS - 1);
    this.#check(this.exports.coreRemoveServicePort(id), 'removeServicePort');
  }

  /**
   * Maps (protocol, IPv4, port) to a service-port: a ClusterIP, external IP or load-balancer IP. A load-balancer IP
   * takes `options.loadBalancerSourceRanges`; adding it again replaces them (none given: none kept).
   */
  addServiceAddress(protocol: Protocol, ip: string | number, port: number, servicePort: number, kind: AddressKind = 'ClusterIP',
    options: ServiceAddressOptions = {}): void {
    const proto = checkProtocol(protocol);
    const addr = toIPv4(ip, 'ip');
    checkU32(port, 'port', 1, 65535);
    checkU32(servicePort, 'servicePort', 0, MAX_SERVICE_PORTS - 1);
    const k = AddressKindCode[kind];
    if (k === undefined) throw new TypeError(`Expected \`kind\` to be "ClusterIP", "ExternalIP" or "LoadBalancerIP", got ${JSON.stringify(kind)}`);
    const ranges = sourceRangesOf(options, kind);
    const what = `addServiceAddress(${protocol} ${typeof ip === 'string' ? ip : addr}:${port})`;
    this.#check(this.exports.coreAddServiceAddress(proto, addr, port, servicePort, k), what);
    if (kind !== 'LoadBalancerIP') return; // the core drops ranges an entry had as a load-balancer IP
    const ptr = this.#scratchFor(Math.max(ranges.length * 8, 8));
    const words = new Uint32Array(this.memory.buffer, ptr, ranges.length * 2);
    ranges.forEach((r, i) => { words[2 * i] = r.base; words[2 * i + 1] = r.prefix; });
    this.#check(this.exports.coreSetSourceRanges(proto, addr, port, ptr, ranges.length), what);
  }

  removeServiceAddress(protocol: Protocol, ip: string | number, port: number): void {
    this.#check(this.exports.coreRemoveServiceAddress(checkProtocol(protocol), toIPv4(ip, 'ip'), checkU32(port, 'port', 1, 65535)), 'removeServiceAddress');
  }

  /** Maps (protocol, NodePort) to a service-port; `servicePort` null clears it. */
  setNodePort(protocol: Protocol, port: number, servicePort: number | null): void {
    const proto = checkProtocol(protocol);
    checkU32(port, 'port', 1, 65535);
    const sp = servicePort === null ? U32_MAX : checkU32(servicePort, 'servicePort', 0, MAX_SERVICE_PORTS - 1);
    this.#check(this.exports.coreSetNodePort(proto, port, sp), `setNodePort(${protocol} ${port})`);
  }

  /**
   * Adds (`enabled` true) or removes a Service's `healthCheckNodePort` (1…65535). ipvs nodes only: kube-proxy's
   * KUBE-IPVS-FILTER RETURNs for the port (ipset KUBE-HEALTH-CHECK-NODE-PORT: the port alone, any address and
   * protocol), so a new connection to an address on kube-ipvs0 on this port is passed to the node instead of rejected.
   */
  setHealthCheckNodePort(port: number, enabled: boolean): void {
    checkU32(port, 'port', 1, 65535);
    if (typeof enabled !== 'boolean') throw new TypeError(`Expected \`enabled\` to be a boolean, got ${JSON.stringify(enabled)}`);
    this.#check(this.exports.coreSetHealthCheckNodePort(port, enabled ? 1 : 0), `setHealthCheckNodePort(${port})`);
  }

  /**
   * Replaces service-port `id`'s endpoints, in rule order (kube-proxy sorts them by "IP:port" string). Other
   * service-ports are untouched; established connections keep their endpoint through conntrack.
   */
  setEndpoints(id: number, endpoints: readonly EndpointInput[]): void {
    checkU32(id, 'id', 0, MAX_SERVICE_PORTS - 1);
    if (!Array.isArray(endpoints)) throw new TypeError('Expected `endpoints` to be an array');
    if (endpoints.length > MAX_ENDPOINTS_PER_SERVICE_PORT) {
      throw new RangeError(`Expected at most ${MAX_ENDPOINTS_PER_SERVICE_PORT} endpoints, got ${endpoints.length}`);
    }
    const words = new Uint32Array(endpoints.length * 4);
    endpoints.forEach((ep, i) => words.set(endpointWords(ep, i), i * 4));
    this.setEndpointRecords(id, words);
  }

  /** As `setEndpoints`, from prepared records (4 u32 each: IPv4, port | EndpointCondition bits, node, id). */
  setEndpointRecords(id: number, records: Uint32Array): void {
    const count = records.length >>> 2;
    this.#ensureStatistic(count);
    const ptr = this.#scratchFor(Math.max(count * ENDPOINT_RECORD_BYTES, 16));
    new Uint32Array(this.memory.buffer, ptr, count * 4).set(records.subarray(0, count * 4));
    this.#check(this.exports.coreSetEndpoints(id, ptr, count), `setEndpoints(${id})`);
  }

  /** A batch of `capacity` packet and result records in this instance's memory. */
  createBatch(capacity: number): PacketBatch {
    checkU32(capacity, 'capacity', 1, 1 << 24);
    return new PacketBatch(this.exports, capacity);
  }

  /** Runs the first `count` packets of `batch` (default all) through the datapath in one call. */
  processBatch(batch: PacketBatch, count: number = batch.capacity): void {
    if (!(batch instanceof PacketBatch)) throw new TypeError('Expected `batch` to be a PacketBatch from createBatch()');
    checkU32(count, 'count', 0, batch.capacity);
    this.exports.coreProcessBatch(batch.pointer, batch.pointer + batch.capacity * PACKET_RECORD_BYTES, count);
  }

  /** Simulated time in seconds. */
  get now(): number {
    return this.exports.coreNow() >>> 0;
  }

  /** Moves simulated time forward by `seconds`. Expired entries stop matching at once; `sweep()` frees them. */
  advanceTime(seconds: number): void {
    checkU32(seconds, 'seconds');
    const t = this.now + seconds;
    if (t > U32_MAX) throw new RangeError(`advanceTime: simulated time would pass 2^32−1 s (now ${this.now})`);
    this.#check(this.exports.coreSetTime(t), 'advanceTime');
  }

  /** Removes expired conntrack and affinity entries (the kernel's garbage collection); returns conntrack entries removed. */
  sweep(): number {
    return this.exports.coreSweep() >>> 0;
  }

  /** Sets one protocol's conntrack timeouts in seconds (before and after the connection is assured). */
  setConntrackTimeouts(protocol: Protocol, unassuredSeconds: number, assuredSeconds: number): void {
    this.#check(this.exports.coreSetConntrackTimeouts(checkProtocol(protocol), checkU32(unassuredSeconds, 'unassuredSeconds', 1), checkU32(assuredSeconds, 'assuredSeconds', 1)), 'setConntrackTimeouts');
  }

  /** Empties conntrack (like `conntrack -F`). */
  flushConntrack(): void {
    this.exports.coreConntrackFlush();
  }

  conntrackStats(): ConntrackStats {
    const s = (k: number) => this.exports.coreConntrackStat(k) >>> 0;
    return { entries: s(ConntrackStat.entries), max: s(ConntrackStat.max), inserted: s(ConntrackStat.inserted), earlyDrops: s(ConntrackStat.earlyDrops), drops: s(ConntrackStat.drops) };
  }

  /** Bytes of conntrack slots (fixed at creation). */
  get conntrackBytes(): number {
    return this.exports.coreConntrackStat(ConntrackStat.bytes) >>> 0;
  }

  /**
   * IPVS lc bookkeeping of one destination of a virtual server on a node: the service-port, the virtual server's
   * address (the ClusterIP, or the node address a NodePort was reached on) and the endpoint id.
   */
  ipvsConnections(node: number, servicePort: number, virtualServerIP: string | number, endpointId: number): { active: number; inactive: number } {
    const vs = toIPv4(virtualServerIP, 'virtualServerIP');
    const count = (which: number) => this.exports.coreLcConnections(node, servicePort, vs, endpointId, which) >>> 0;
    return { active: count(0), inactive: count(1) };
  }
}
