import { ArrivalCode, MAX_NODES, PACKET_RECORD_BYTES, PACKET_WORDS, ProtocolNumber, RESULT_RECORD_BYTES, RESULT_WORDS, packPacketHead, packPorts,
  resultDstPort, resultFlags, resultServicePortId, resultVerdict, type Protocol, type VerdictCode } from './abi.js';
import type { CoreExports } from './abi.js';
import { toIPv4 } from './ipv4.js';

/** How a packet reached its node. */
export type Arrival = keyof typeof ArrivalCode;

/** One packet, for the convenience setters (hot loops write `batch.packets` directly). */
export interface PacketInput {
  /** Node id from `addNode` that handles the packet (0…65,534). */
  node: number;
  /** `pod` (from a pod on this node), `host` (a host-network process), `external` (from outside the node). */
  arrival: Arrival;
  protocol: Protocol;
  srcIP: string | number;
  srcPort: number;
  dstIP: string | number;
  dstPort: number;
}

/** One result, as an object (see `Verdict` and `ResultFlag`). */
export interface PacketResult {
  verdict: VerdictCode;
  flags: number;
  /** Destination after translation (unchanged when not DNATed), u32. */
  dstIP: number;
  dstPort: number;
  /** Endpoint id given to `setEndpoints`, or −1. */
  endpointId: number;
  /** Service-port matched, or −1. */
  servicePortId: number;
}

/**
 * N packet records and N result records in the datapath's linear memory, filled and read by TypeScript without a
 * copy. `packets` (4 u32 per packet, see `Packet` in abi.ts) and `results` (4 u32 per packet, `Result`) are views
 * rebuilt whenever the memory has grown, so read the getters again after any datapath call instead of keeping them.
 */
export class PacketBatch {
  readonly capacity: number;
  readonly #core: CoreExports;
  #ptr: number;
  #buffer: ArrayBuffer | undefined;
  #packets = new Uint32Array(0);
  #results = new Uint32Array(0);

  /** @internal Created by `Datapath.createBatch`. */
  constructor(core: CoreExports, capacity: number) {
    this.#core = core;
    this.capacity = capacity;
    this.#ptr = core.coreAlloc(capacity * (PACKET_RECORD_BYTES + RESULT_RECORD_BYTES));
  }

  /** Byte offset of the packet records (results follow them). */
  get pointer(): number {
    if (this.#ptr === 0) throw new Error('This PacketBatch was freed');
    return this.#ptr;
  }
  get resultPointer(): number {
    return this.pointer + this.capacity * PACKET_RECORD_BYTES;
  }

  #views(): void {
    const buffer = this.#core.memory.buffer;
    if (buffer !== this.#buffer) {
      this.#buffer = buffer;
      this.#packets = new Uint32Array(buffer, this.pointer, this.capacity * PACKET_WORDS);
      this.#results = new Uint32Array(buffer, this.resultPointer, this.capacity * RESULT_WORDS);
    }
  }

  /** Packet records: word i·4 + `Packet.field` (packed words: `packPacketHead`, `packPorts`). */
  get packets(): Uint32Array {
    this.#views();
    return this.#packets;
  }

  /** Result records: word i·4 + `Result.field` (packed words: `resultVerdict`, `resultFlags`, …). Valid after `processBatch`. */
  get results(): Uint32Array {
    this.#views();
    return this.#results;
  }

  /** Writes packet `i` from an object (validating it). */
  setPacket(i: number, packet: PacketInput): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.capacity) {
      throw new RangeError(`Expected \`i\` to be an integer in 0…${this.capacity - 1}, got ${i}`);
    }
    const arrival = ArrivalCode[packet.arrival];
    if (arrival === undefined) throw new TypeError(`Expected \`packet.arrival\` to be "pod", "host" or "external", got ${JSON.stringify(packet.arrival)}`);
    const proto = ProtocolNumber[packet.protocol];
    if (proto === undefined) throw new TypeError(`Expected \`packet.protocol\` to be "TCP", "UDP" or "SCTP", got ${JSON.stringify(packet.protocol)}`);
    for (const key of ['srcPort', 'dstPort'] as const) {
      const v = packet[key];
      if (!Number.isInteger(v) || v < 0 || v > 65535) throw new RangeError(`Expected \`packet.${key}\` to be a port 0…65535, got ${v}`);
    }
    if (!Number.isInteger(packet.node) || packet.node < 0 || packet.node >= MAX_NODES) {
      throw new RangeError(`Expected \`packet.node\` to be a node id 0…${MAX_NODES - 1}, got ${packet.node}`);
    }
    const src = toIPv4(packet.srcIP, 'packet.srcIP');
    const dst = toIPv4(packet.dstIP, 'packet.dstIP');
    const w = this.packets;
    const o = i * PACKET_WORDS;
    w[o] = packPacketHead(packet.node, arrival, proto);
    w[o + 1] = src;
    w[o + 2] = dst;
    w[o + 3] = packPorts(packet.srcPort, packet.dstPort);
  }

  /** Result `i` as an object. */
  result(i: number): PacketResult {
    if (!Number.isInteger(i) || i < 0 || i >= this.capacity) {
      throw new RangeError(`Expected \`i\` to be an integer in 0…${this.capacity - 1}, got ${i}`);
    }
    const r = this.results;
    const o = i * RESULT_WORDS;
    return {
      verdict: resultVerdict(r[o]!),
      flags: resultFlags(r[o]!),
      dstIP: r[o + 1]!,
      dstPort: resultDstPort(r[o + 3]!),
      endpointId: r[o + 2] === 0xffffffff ? -1 : r[o + 2]!,
      servicePortId: resultServicePortId(r[o + 3]!),
    };
  }

  /** Returns the memory to the datapath; the batch is unusable afterwards. */
  free(): void {
    if (this.#ptr !== 0) this.#core.coreFree(this.#ptr);
    this.#ptr = 0;
    this.#buffer = undefined;
  }
}
