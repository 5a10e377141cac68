/**
 * The datapath core under the issue's scenarios: 10,000 service-ports × 10 endpoints, batches of 64k packets, one
 * core. Contenders measured in the same run: the WebAssembly core, the TypeScript kernel over the same typed arrays,
 * the readable reference, and a literal walk of one rule per service-port (iptables' KUBE-SERVICES). Each contender's
 * answer is checked against the core once before it is timed.
 */
import { cpus, loadavg } from 'node:os';
import { Bench } from 'tinybench';
import { PACKET_WORDS, Packet, PacketBatch, RESULT_WORDS, ResultFlag, Verdict, loadDatapathSync, resultFlags, type Datapath, type PacketInput } from '../../packages/datapath/src/index.js';
import { TypedArrayKernel } from '../../packages/datapath/src/reference/index.js';
import type { BenchRow, SuiteContext, SuiteResult } from '../suite.js';
import { probeMemory } from '../lib/memory-probe.js';
import { CLUSTER_IP, EPS, EP_IP, NODES, NewConnectionLoad, build, buildReference, fillNew, records, writeFlow } from '../lib/datapath-scenario.js';

/** The rule list KUBE-SERVICES would hold: one (TCP, ClusterIP, 80) rule per service-port, in order. */
function rules(spCount: number): Uint32Array {
  const r = new Uint32Array(spCount * 4);
  for (let sp = 0; sp < spCount; sp++) r.set([6, CLUSTER_IP(sp), 80, sp], sp * 4);
  return r;
}

function toObjects(batch: PacketBatch, count: number): PacketInput[] {
  const w = batch.packets;
  return Array.from({ length: count }, (_, i) => {
    const o = i * PACKET_WORDS;
    const ports = w[o + Packet.srcPortDstPort]!;
    return { node: w[o]! & 0xffff, arrival: 'pod', protocol: 'TCP', srcIP: w[o + Packet.srcIP]!, srcPort: ports >>> 16, dstIP: w[o + Packet.dstIP]!, dstPort: ports & 0xffff };
  });
}

function sameResults(what: string, got: Uint32Array, want: Uint32Array): void {
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) throw new Error(`${what} disagrees with the core at packet ${Math.floor(i / RESULT_WORDS)}, word ${i % RESULT_WORDS}: ${got[i]} ≠ ${want[i]}`);
  }
}

interface Timing { perSecond: number; rme: number; perCpuSecond?: number }

/**
 * tinybench's wall-clock rate, and for batch tasks also the rate per CPU-second of this process (process.cpuUsage
 * around each call): on a shared machine the second is not inflated by time spent descheduled.
 */
async function time(name: string, fn: () => void, opts: { time: number; beforeEach?: () => void; units: number }): Promise<Timing> {
  const bench = new Bench({ time: opts.time, warmupTime: Math.min(200, opts.time / 4), iterations: 3 } as ConstructorParameters<typeof Bench>[0]);
  let cpuMicros = 0;
  let calls = 0;
  const timed = opts.units > 1
    ? () => { const c = process.cpuUsage(); fn(); const u = process.cpuUsage(c); cpuMicros += u.user + u.system; calls++; }
    : fn;
  bench.add(name, timed, opts.beforeEach ? { beforeEach: opts.beforeEach } : {});
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state !== 'completed') throw new Error(`${name}: ${result.state}`);
  return {
    perSecond: (opts.units * 1000) / result.period,
    rme: Number(result.latency.rme.toFixed(1)),
    ...(calls > 0 && cpuMicros > 0 ? { perCpuSecond: (opts.units * calls * 1e6) / cpuMicros } : {}),
  };
}

/** A throughput row: wall-clock packets/s, packets per CPU-second, and the ratio to a baseline when given. */
function rate(scenario: string, contender: string, t: Timing, baseline?: Timing): BenchRow {
  const row: BenchRow = { scenario, contender, 'packets/s': Math.round(t.perSecond), 'packets/CPU-s': t.perCpuSecond ? Math.round(t.perCpuSecond) : '', '±%': t.rme };
  if (baseline) row['wasm ×'] = Number((baseline.perSecond / t.perSecond).toFixed(2));
  return row;
}

export default async function datapathBench(ctx: SuiteContext): Promise<SuiteResult> {
  const quick = ctx.quick;
  const SP = quick ? 1000 : 10_000;
  const BATCH = quick ? 4096 : 65_536;
  const T = quick ? 150 : 2500;
  // Conntrack: 8 live batches = half the slots (1M slots at full size).
  const ctSlots = BATCH * 16;
  const ctMax = (ctSlots * 3) / 4;
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const prepared = Array.from({ length: Math.max(SP, quick ? 3000 : 30_000) }, (_, sp) => records(sp));

  // ---- check answers once: reference, TS kernel and walk against the core on the same packets ----
  {
    const dp = loadDatapathSync({ seed: 1, conntrackMax: 1 << 16 });
    build(dp, SP, prepared);
    const ref = buildReference(SP, { seed: 1, conntrackMax: 1 << 16 });
    const batch = dp.createBatch(4096);
    fillNew(batch, 0, 4096, SP);
    const kernel = new TypedArrayKernel(dp, { conntrackMax: 1 << 16 });
    const walk = new TypedArrayKernel(dp, { conntrackMax: 1 << 16, linearRules: rules(SP) });
    const fromRef = ref.processAll(toObjects(batch, 4096));
    kernel.processBatch(batch);
    const fromKernel = batch.results.slice();
    walk.processBatch(batch);
    const fromWalk = batch.results.slice();
    dp.processBatch(batch);
    const core = batch.results.slice();
    sameResults('TS kernel', fromKernel, core);
    sameResults('rule walk', fromWalk, core);
    sameResults('reference', new Uint32Array(fromRef.flatMap((r) => [r.verdict | (r.flags << 8), r.dstIP, r.endpointId >>> 0, (r.dstPort | (r.servicePortId << 16)) >>> 0])), core);
    if (!fromRef.every((r) => r.verdict === Verdict.DNAT)) throw new Error('check batch: expected every packet DNATed');
    ctx.log('answers checked: reference, TS kernel and rule walk agree with the core on 4096 new connections');
  }

  // ---- table build and endpoint replacement ----
  {
    const buildTimes: number[] = [];
    for (let i = 0; i < (quick ? 2 : 5); i++) {
      const dp = loadDatapathSync({ conntrackMax: 1024, servicePortCapacity: SP, serviceAddressCapacity: SP });
      buildTimes.push(build(dp, SP, prepared));
    }
    buildTimes.sort((a, b) => a - b);
    rows.push({ scenario: `build shared tables, ${SP.toLocaleString('en-US')} service-ports × ${EPS} endpoints`, contender: 'wasm', metric: 'ms (median)', value: Number(buildTimes[buildTimes.length >> 1]!.toFixed(2)) });
    const dp = loadDatapathSync({ conntrackMax: 1024 });
    build(dp, SP, prepared);
    const alt = [records(SP >> 1, 1), records(SP >> 1, 2)];
    let k = 0;
    const r = await time('replace one service-port', () => dp.setEndpointRecords(SP >> 1, alt[k++ & 1]!), { time: T, units: 1 });
    rows.push({ scenario: `replace one service-port's ${EPS} endpoints`, contender: 'wasm', metric: 'µs', value: Number((1e6 / r.perSecond).toFixed(2)), '±%': r.rme });
    const objects = Array.from({ length: EPS }, (_, j) => ({ ip: EP_IP(7, j), port: 8080, node: j % NODES, id: j }));
    const o = await time('replace via objects', () => dp.setEndpoints(SP >> 1, objects), { time: T, units: 1 });
    rows.push({ scenario: `replace one service-port's ${EPS} endpoints (object API)`, contender: 'wasm', metric: 'µs', value: Number((1e6 / o.perSecond).toFixed(2)), '±%': o.rme });
    const blockBytes = dp.exports.coreEndpointBlockBytes(0);
    rows.push({ scenario: 'memory per endpoint (block + share of the 32-byte service-port struct)', contender: 'wasm', metric: 'bytes', value: Number((blockBytes / EPS + 32 / EPS).toFixed(1)) });
  }

  // ---- new connections ----
  const newRates = new Map<string, number>();
  for (const spCount of quick ? [SP] : [1000, 10_000, 30_000]) {
    const dp = loadDatapathSync({ seed: 1, conntrackMax: ctMax });
    build(dp, spCount, prepared);
    const batch = dp.createBatch(BATCH);
    const load = new NewConnectionLoad(dp, batch, spCount, BATCH);
    const r = await time(`new wasm ${spCount}`, () => load.process(), { time: T, units: BATCH, beforeEach: () => load.prepare() });
    const withExpiry = await time(`new wasm ${spCount} with expiry`, () => { load.expire(); load.process(); }, { time: T, units: BATCH, beforeEach: () => load.fill() });
    const missed = dp.conntrackStats();
    if (missed.drops + missed.earlyDrops > 0) throw new Error('a timed packet took the full-table path');
    const label = `new connections, ${spCount.toLocaleString('en-US')} service-ports, conntrack ${Math.round((100 * load.minEntries) / ctSlots)}–${Math.round((100 * load.maxEntries) / ctSlots)} % of ${ctSlots.toLocaleString('en-US')} slots`;
    rows.push(rate(label, 'wasm', r));
    rows.push(rate(`${label}, including the clock and sweeps`, 'wasm', withExpiry));
    if (spCount === SP) {
      const sweeps = [...load.sweepMs].sort((a, b) => a - b);
      rows.push({ scenario: `conntrack sweep of ${ctSlots.toLocaleString('en-US')} slots at ${Math.round((100 * load.maxEntries) / ctSlots)} % load, a third of the entries expired`, contender: 'wasm', metric: 'ms (median)', value: Number(sweeps[sweeps.length >> 1]!.toFixed(2)) });
    }
    newRates.set(`wasm ${spCount}`, r.perSecond);
    if (spCount === SP) {
      const bytes = dp.conntrackBytes;
      rows.push({ scenario: `conntrack memory per live entry at ${Math.round((100 * load.minEntries) / ctSlots)} % / ${Math.round((100 * load.maxEntries) / ctSlots)} % load`, contender: 'wasm', metric: 'bytes', value: `${(bytes / load.minEntries).toFixed(1)} / ${(bytes / load.maxEntries).toFixed(1)}` });

      // TS kernel over the same tables, same load regime on its own conntrack arena.
      const kernel = new TypedArrayKernel(dp, { conntrackMax: ctMax });
      let flow = 1 << 30;
      let n = 0;
      const kprepare = () => {
        kernel.now++;
        if (++n % 3 === 0) kernel.sweep();
        fillNew(batch, flow, BATCH, spCount);
        flow += BATCH;
      };
      const kprocess = () => kernel.processBatch(batch, BATCH);
      for (let t = 0; t < 8; t++) { kprepare(); kprocess(); }
      const k = await time('new ts-kernel', kprocess, { time: T, units: BATCH, beforeEach: kprepare });
      rows.push(rate(label, 'TS typed-array kernel', k, r));

      // The readable reference (no pre-fill: a Map's cost does not depend on its size here).
      const ref = buildReference(spCount, { seed: 1, conntrackMax: 1 << 26 });
      const refBatch = quick ? 1024 : 16_384;
      let objects: PacketInput[] = [];
      let rflow = 1 << 29;
      const rr = await time('new reference', () => ref.processAll(objects), {
        time: T, units: refBatch,
        beforeEach: () => { fillNew(batch, rflow, refBatch, spCount); rflow += refBatch; objects = toObjects(batch, refBatch); },
      });
      rows.push(rate(label, 'reference (objects, Maps)', rr, r));
    }
    // The literal O(n) rule walk (TS kernel with the rule list instead of the hash table).
    const walk = new TypedArrayKernel(dp, { conntrackMax: ctMax, linearRules: rules(spCount) });
    const walkBatch = quick ? 512 : 4096;
    let wflow = 1 << 31;
    const w = await time(`walk ${spCount}`, () => walk.processBatch(batch, walkBatch), {
      time: T, units: walkBatch, beforeEach: () => { fillNew(batch, wflow, walkBatch, spCount); wflow += walkBatch; },
    });
    rows.push(rate(label, 'literal rule walk (one rule per service-port)', w, r));
    batch.free();
  }

  // ---- established connections ----
  for (const flows of quick ? [BATCH] : [65_536, 1_048_576]) {
    const dp = loadDatapathSync({ seed: 1, conntrackMax: flows });
    build(dp, SP, prepared);
    const batches = Array.from({ length: flows / BATCH }, (_, b) => {
      const batch = dp.createBatch(BATCH);
      fillNew(batch, b * BATCH, BATCH, SP);
      dp.processBatch(batch);
      return batch;
    });
    for (const batch of batches) { // check: every packet now hits conntrack
      dp.processBatch(batch);
      const res = batch.results;
      for (let i = 0; i < BATCH; i++) if ((resultFlags(res[i * RESULT_WORDS]!) & ResultFlag.CONNTRACK_HIT) === 0) throw new Error('established check: a packet missed conntrack');
    }
    let b = 0;
    const r = await time(`established ${flows}`, () => dp.processBatch(batches[b++ % batches.length]!), { time: T, units: BATCH });
    const label = `established connections, ${flows.toLocaleString('en-US')} live flows`;
    rows.push(rate(label, 'wasm', r));
    const kernel = new TypedArrayKernel(dp, { conntrackMax: flows });
    for (const batch of batches) kernel.processBatch(batch);
    let kb = 0;
    const k = await time(`established ts ${flows}`, () => kernel.processBatch(batches[kb++ % batches.length]!), { time: T, units: BATCH });
    rows.push(rate(label, 'TS typed-array kernel', k, r));
    if (flows === 65_536 || quick) {
      const ref = buildReference(SP, { seed: 1, conntrackMax: 1 << 26 });
      const objects = toObjects(batches[0]!, BATCH);
      ref.processAll(objects);
      const rr = await time('established reference', () => ref.processAll(objects), { time: T, units: BATCH });
      rows.push(rate(label, 'reference (objects, Maps)', rr, r));
    }
    for (const batch of batches) batch.free();
  }

  // ---- new connections with conntrack in cache: the core's compute ceiling (same load, batches of 4,096) ----
  // At 100 service-ports the service, service-port and endpoint lines stay in L2 as well, so that row is the
  // ceiling of the new-connection path's own work on this machine; at 10k they live in the shared L3.
  if (!quick) {
    for (const spCount of [100, SP]) {
      const small = 4096;
      const dp = loadDatapathSync({ seed: 1, conntrackMax: (small * 16 * 3) / 4 });
      build(dp, spCount, prepared);
      const batch = dp.createBatch(small);
      const load = new NewConnectionLoad(dp, batch, spCount, small);
      const r = await time(`new wasm in cache ${spCount}`, () => load.process(), { time: T / 2, units: small, beforeEach: () => load.prepare() });
      rows.push(rate(`new connections, ${spCount.toLocaleString('en-US')} service-ports, conntrack in cache (${Math.round((100 * load.minEntries) / (small * 16))}–${Math.round((100 * load.maxEntries) / (small * 16))} % of ${(small * 16).toLocaleString('en-US')} slots, batches of ${small.toLocaleString('en-US')})`, 'wasm', r));
      batch.free();
    }
  }

  // ---- established connections against the conntrack table's size (where the time goes) ----
  // The same 64k-packet batches drawn at random over F live flows: the table is F × 4/3 rounded up to a power of two
  // slots of 32 bytes, so the sizes step through L1 and L2 (128 KB: the hit path's own ceiling; L2 is 1 MB per core
  // here), the L2 TLB's reach (2,048 × 4 KB pages = 8 MB), L3 (32 MB, shared) and beyond.
  if (!quick) {
    for (const flows of [2_048, 16_384, 131_072, 262_144]) {
      const dp = loadDatapathSync({ seed: 1, conntrackMax: flows });
      build(dp, SP, prepared);
      const batch = dp.createBatch(BATCH);
      for (let f = 0; f < flows; f += BATCH) { fillNew(batch, f, Math.min(BATCH, flows - f), SP); dp.processBatch(batch, Math.min(BATCH, flows - f)); }
      const batches = Array.from({ length: 4 }, (_, b) => {
        const x = dp.createBatch(BATCH);
        const w = x.packets;
        // flow numbers drawn over [0, flows): every packet an established flow
        for (let i = 0; i < BATCH; i++) writeFlow(w, i, (Math.imul(b * BATCH + i, 0x9e3779b1) >>> 0) % flows, SP);
        dp.processBatch(x);
        for (let i = 0; i < BATCH; i++) if ((resultFlags(x.results[i * RESULT_WORDS]!) & ResultFlag.CONNTRACK_HIT) === 0) throw new Error('size sweep: a packet missed conntrack');
        return x;
      });
      let b = 0;
      const r = await time(`established ${flows} random`, () => dp.processBatch(batches[b++ % batches.length]!), { time: T / 2, units: BATCH });
      rows.push(rate(`established connections, ${flows.toLocaleString('en-US')} live flows in random order (conntrack ${dp.conntrackBytes / 2 ** 20} MB)`, 'wasm', r));
      for (const x of batches) x.free();
      batch.free();
    }
  }

  // ---- the machine's memory, for reading the figures above: what one random access costs at each table size ----
  for (const mb of quick ? [1, 4] : [1, 4, 32]) {
    const m = probeMemory(mb, quick ? 1 << 16 : 1 << 21);
    rows.push({ scenario: `machine: random 64-byte-line loads over ${mb} MB, dependent (latency) / independent (throughput), best of 3`, contender: 'JS typed array', metric: 'ns per load', value: `${m.dependentNs.toFixed(1)} / ${m.independentNs.toFixed(1)}` });
  }

  if (!quick) {
    const flat = (newRates.get('wasm 1000')! / newRates.get('wasm 30000')!).toFixed(2);
    notes.push(`new-connection rate 1k ÷ 30k service-ports: ${flat} (flat = 1)`);
  }
  notes.push(`Load average during the run: ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min) on ${cpus().length} cores: other work shares this machine, so packets/CPU-s (this process's CPU time) is the steadier figure.`);
  notes.push('Targets (issue #2, this 2-core machine): new ≥ 10 M/s; established ≥ 50 M/s at 64k flows, ≥ 20 M/s at 1M; WASM ≥ 5× reference, ≥ 1.2× TS kernel, ≥ 30× rule walk at 10k; ≤ 48 B per live conntrack entry, ≤ 32 B per endpoint; build ≤ 50 ms; replacement ≤ 20 µs.');
  notes.push('New connections: the batch call alone, then including the clock and the sweeps (every third batch) that keep conntrack between 50 % and 75 %. Baselines are compared on the batch call alone.');
  notes.push('The TS kernel runs the same algorithm on the same tables but without the core\'s grouped cache-line touching; the literal walk is that kernel with a rule list instead of the hash table.');
  return { title: 'Datapath core (services, selection, conntrack)', rows, notes };
}
