// Distributions with fixed seeds: what the data planes really do, rounding included.
import { describe, expect, it } from 'vitest';
import { ArrivalCode, PACKET_WORDS, RESULT_WORDS, Result, Verdict, packPacketHead, packPorts, resultVerdict, statisticThreshold, type Datapath, type PacketInput } from '../src/index.js';
import { buildMaglevTable, MAGLEV_TABLE_SIZE } from '../src/reference/index.js';
import { newDatapath, send } from './helpers.js';

const VIP = 0x0a60000a;

function service(dp: Datapath, node: number, n: number): void {
  dp.setServicePort(0, {});
  dp.addServiceAddress('TCP', VIP, 80, 0);
  dp.setEndpoints(0, Array.from({ length: n }, (_, i) => ({ ip: 0x0a000200 + i, port: 8080, node, id: i })));
}

/** Endpoint counts of `count` new connections from distinct source ports/addresses. */
function counts(dp: Datapath, node: number, n: number, count: number): number[] {
  const out = new Array<number>(n).fill(0);
  const batch = dp.createBatch(4096);
  for (let start = 0; start < count; start += 4096) {
    const size = Math.min(4096, count - start);
    const w = batch.packets;
    for (let i = 0; i < size; i++) {
      const k = start + i;
      w.set([packPacketHead(node, ArrivalCode.pod, 6), 0x0a010000 + (k >>> 14), VIP, packPorts(1024 + (k & 0x3fff), 80)], i * PACKET_WORDS);
    }
    dp.processBatch(batch, size);
    const r = batch.results;
    for (let i = 0; i < size; i++) {
      expect(resultVerdict(r[i * RESULT_WORDS + Result.verdictFlags]!)).toBe(Verdict.DNAT);
      out[r[i * RESULT_WORDS + Result.endpointId]!]!++;
    }
  }
  return out;
}

function chiSquare(observed: number[], expectedShares: number[], total: number): number {
  return observed.reduce((sum, o, i) => sum + (o - expectedShares[i]! * total) ** 2 / (expectedShares[i]! * total), 0);
}

/** Shares the kernel gives endpoint i when rule i matches with threshold(n − i) / 2^31 and the last is unconditional. */
function iptablesShares(n: number): number[] {
  const shares: number[] = [];
  let remaining = 1;
  for (let i = 0; i < n - 1; i++) {
    const p = statisticThreshold(n - i) / 2 ** 31;
    shares.push(remaining * p);
    remaining *= 1 - p;
  }
  shares.push(remaining);
  return shares;
}

// 99.9th percentiles of χ² with 2, 4, 6 degrees of freedom.
const CHI2_999: Record<number, number> = { 2: 13.816, 4: 18.467, 6: 22.458 };

describe('iptables statistic', () => {
  it('prints probabilities as kube-proxy does and rounds them as libxt_statistic does', () => {
    expect(statisticThreshold(2)).toBe(0x40000000); // "0.5000000000"
    expect(statisticThreshold(3)).toBe(715_827_883); // 0.3333333333 · 2^31 = 715827882.596
    expect(statisticThreshold(7)).toBe(306_783_378); // 0.1428571429 · 2^31 = 306783378.378
  });

  for (const n of [3, 5, 7]) {
    it(`spreads ${n} endpoints as the printed probabilities give (χ², seed fixed)`, () => {
      const dp = newDatapath({ seed: 20240601 + n, conntrackMax: 200_000 });
      const node = dp.addNode({ mode: 'iptables' });
      service(dp, node, n);
      const total = 120_000;
      expect(chiSquare(counts(dp, node, n, total), iptablesShares(n), total)).toBeLessThan(CHI2_999[n - 1]!);
    });
  }
});

describe('nftables numgen', () => {
  it('is uniform over 5 endpoints (χ², seed fixed)', () => {
    const dp = newDatapath({ seed: 99, conntrackMax: 200_000 });
    const node = dp.addNode({ mode: 'nftables' });
    service(dp, node, 5);
    expect(chiSquare(counts(dp, node, 5, 100_000), new Array(5).fill(0.2), 100_000)).toBeLessThan(CHI2_999[4]!);
  });
});

describe('IPVS', () => {
  it('rr is exactly cyclic over new connections', () => {
    const dp = newDatapath();
    const node = dp.addNode({ mode: 'ipvs', ipvsScheduler: 'rr' });
    service(dp, node, 4);
    const packets: PacketInput[] = Array.from({ length: 41 }, (_, i) => ({ node, arrival: 'pod', protocol: 'TCP', srcIP: 0x0a010001 + i, srcPort: 5555, dstIP: VIP, dstPort: 80 }));
    expect(send(dp, packets).map((r) => r.endpointId)).toEqual(packets.map((_, i) => i % 4));
  });

  it('lc picks the endpoint with the fewest connections, ties to the first', () => {
    const dp = newDatapath();
    const node = dp.addNode({ mode: 'ipvs', ipvsScheduler: 'lc' });
    service(dp, node, 3);
    // UDP connections count as active at once: 0, 1, 2, 0, 1, 2 …
    dp.addServiceAddress('UDP', VIP, 80, 0);
    const udp = (i: number): PacketInput => ({ node, arrival: 'pod', protocol: 'UDP', srcIP: 0x0a010001, srcPort: 6000 + i, dstIP: VIP, dstPort: 80 });
    expect(send(dp, [0, 1, 2, 3, 4].map(udp)).map((r) => r.endpointId)).toEqual([0, 1, 2, 0, 1]);
    expect(dp.ipvsConnections(node, 0, VIP, 0)).toEqual({ active: 2, inactive: 0 });
    dp.advanceTime(31); // UDP unreplied timeout 30 s
    dp.sweep();
    expect(dp.ipvsConnections(node, 0, VIP, 0)).toEqual({ active: 0, inactive: 0 });
  });

  it('sh maps a source to bucket hash_32(src, 8) and bucket i to endpoint i mod n, for every port', () => {
    const dp = newDatapath();
    const node = dp.addNode({ mode: 'ipvs', ipvsScheduler: 'sh' });
    service(dp, node, 3);
    // hash_32(v, 8) = (v · 0x61C88647 mod 2^32) >> 24: 10.0.0.1 → 39, 10.0.0.2 → 137, 192.168.1.5 → 16.
    const sources = [[0x0a000001, 39 % 3], [0x0a000002, 137 % 3], [0xc0a80105, 16 % 3]] as const;
    for (const [srcIP, endpoint] of sources) {
      const ids = send(dp, [1000, 2000, 3000].map((srcPort) => ({ node, arrival: 'external', protocol: 'TCP', srcIP, srcPort, dstIP: VIP, dstPort: 80 }))).map((r) => r.endpointId);
      expect(ids).toEqual([endpoint, endpoint, endpoint]);
    }
  });

  it('mh fills the 4093-entry table evenly: every endpoint owns ⌊M/n⌋ or ⌈M/n⌉ entries', () => {
    const dests = Array.from({ length: 10 }, (_, i) => ({ ip: 0x0a000200 + i, port: 8080 }));
    const table = buildMaglevTable(dests);
    const owned = new Array<number>(10).fill(0);
    for (const d of table) owned[d]!++;
    for (const c of owned) expect([Math.floor(MAGLEV_TABLE_SIZE / 10), Math.ceil(MAGLEV_TABLE_SIZE / 10)]).toContain(c);
  });

  it('mh moves few sources when one endpoint goes (minimal disruption), in the WASM core', () => {
    const dp = newDatapath({ conntrackMax: 100_000 });
    const node = dp.addNode({ mode: 'ipvs', ipvsScheduler: 'mh' });
    service(dp, node, 10);
    const sources = Array.from({ length: 5000 }, (_, i) => 0x0b000000 + i * 7919);
    const pick = (port: number) => send(dp, sources.map((srcIP) => ({ node, arrival: 'external', protocol: 'TCP', srcIP, srcPort: port, dstIP: VIP, dstPort: 80 }))).map((r) => r.endpointId);
    const before = pick(1000);
    dp.setEndpoints(0, Array.from({ length: 10 }, (_, i) => ({ ip: 0x0a000200 + i, port: 8080, node, id: i })).filter((e) => e.id !== 3));
    const after = pick(2000);
    const stayed = before.filter((e) => e !== 3).length;
    const moved = before.filter((e, i) => e !== 3 && after[i] !== e).length;
    expect(after.includes(3)).toBe(false);
    expect(stayed).toBeGreaterThan(4000);
    expect(moved / stayed).toBeLessThan(0.05);
  });
});
