/**
 * The datapath benchmarks' scenario, shared by the suite (`suites/datapath.bench.ts`) and the same-process A/B tool
 * (`ab-datapath.ts`): 10 iptables nodes, service-ports with one ClusterIP each and 10 endpoints spread over the
 * nodes, new connections to random service-ports, and the expiry regime that keeps conntrack 50–69 % full.
 */
import { ArrivalCode, PACKET_WORDS, packPacketHead, packPorts, type Datapath, type PacketBatch } from '../../packages/datapath/src/index.js';
import { ReferenceDatapath } from '../../packages/datapath/src/reference/index.js';

export const NODES = 10;
export const EPS = 10;
export const CLUSTER_IP = (sp: number) => 0x0a600001 + sp; // 10.96.0.1 + sp
export const EP_IP = (sp: number, j: number) => 0x0a010000 + sp * 16 + j;
export const POD_CIDR = '10.0.0.0/8';

/** Endpoint records of one service-port (4 u32 each). */
export function records(sp: number, generation = 0): Uint32Array {
  const r = new Uint32Array(EPS * 4);
  for (let j = 0; j < EPS; j++) r.set([EP_IP(sp, j) + generation * 0x100000, 8080 | 0x30000 /* ready, serving */, j % NODES, sp * EPS + j], j * 4);
  return r;
}

type TableApi = Pick<Datapath, 'addNode' | 'setLocalAddress' | 'setServicePort' | 'addServiceAddress'>;

/** The scenario's nodes and service-ports in `api`, each service-port's endpoints set by `setEndpoints`. */
function buildTables(api: TableApi, spCount: number, setEndpoints: (sp: number) => void): void {
  for (let n = 0; n < NODES; n++) {
    api.addNode({ mode: 'iptables', localTrafficDetector: POD_CIDR });
    api.setLocalAddress(n, 0xc0a80001 + n);
  }
  for (let sp = 0; sp < spCount; sp++) {
    api.setServicePort(sp, {});
    api.addServiceAddress('TCP', CLUSTER_IP(sp), 80, sp);
    setEndpoints(sp);
  }
}

/** Builds nodes and the shared tables in the core from prepared endpoint records; returns milliseconds. */
export function build(dp: Datapath, spCount: number, prepared: Uint32Array[]): number {
  const t0 = performance.now();
  buildTables(dp, spCount, (sp) => dp.setEndpointRecords(sp, prepared[sp]!));
  return performance.now() - t0;
}

/** The same nodes and tables in the readable reference. */
export function buildReference(spCount: number, options: { seed: number; conntrackMax: number }): ReferenceDatapath {
  const ref = new ReferenceDatapath(options);
  buildTables(ref, spCount, (sp) =>
    ref.setEndpoints(sp, Array.from({ length: EPS }, (_, j) => ({ ip: EP_IP(sp, j), port: 8080, node: j % NODES, id: sp * EPS + j }))));
  return ref;
}

const HEAD = packPacketHead(0, ArrivalCode.pod, 6);

/** Writes flow number `f` as packet record `i`: node 0, a pod, TCP from its own source to a random service-port. */
export function writeFlow(w: Uint32Array, i: number, f: number, spCount: number): void {
  const o = i * PACKET_WORDS;
  w[o] = HEAD;
  w[o + 1] = 0x0a000000 + (f >>> 15);
  w[o + 2] = CLUSTER_IP((Math.imul(f, 0x9e3779b1) >>> 0) % spCount);
  w[o + 3] = packPorts(1024 + (f & 0x7fff), 80);
}

/** Writes `count` new connections (flow numbers from `first`) into a batch: unique 5-tuples, random service-ports. */
export function fillNew(batch: PacketBatch, first: number, count: number, spCount: number): void {
  const w = batch.packets;
  for (let i = 0; i < count; i++) writeFlow(w, i, first + i, spCount);
}

/**
 * New connections against a conntrack of `slots` slots held between 50 % and ~69 % full: unassured entries live 8 s,
 * time advances 1 s per batch, a sweep runs before the table would pass 11/16 full (about every third batch).
 * `prepare` does the clock and the sweep (and writes the next batch of new flows); `process` is the batch call alone.
 */
export class NewConnectionLoad {
  flow = 0;
  /** How long each sweep took (ms): a third of the live entries expired, the rest compacted. */
  readonly sweepMs: number[] = [];
  minEntries = Infinity;
  maxEntries = 0;
  constructor(readonly dp: Datapath, readonly batch: PacketBatch, readonly spCount: number, readonly size: number) {
    dp.setConntrackTimeouts('TCP', 8, 432000);
    for (let t = 0; t < 8; t++) { this.prepare(); this.process(); } // pre-fill: 8 live batches = 50 % of the slots
    this.minEntries = Infinity;
    this.maxEntries = 0;
  }
  /** Clock, sweep: the expiry work that keeps the load in its band (a sweep before the table passes 11/16 full). */
  expire(): void {
    this.dp.advanceTime(1);
    if (this.dp.conntrackStats().entries + this.size > 11 * this.size) {
      const t0 = performance.now();
      this.dp.sweep();
      this.sweepMs.push(performance.now() - t0);
    }
  }
  fill(): void {
    fillNew(this.batch, this.flow, this.size, this.spCount);
    this.flow += this.size;
  }
  prepare(): void { this.expire(); this.fill(); }
  process(): void {
    this.dp.processBatch(this.batch, this.size);
    const e = this.dp.conntrackStats().entries;
    this.minEntries = Math.min(this.minEntries, e);
    this.maxEntries = Math.max(this.maxEntries, e);
  }
}
