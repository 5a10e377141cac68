// The core looks packets up a group at a time and finishes conntrack hits early; a batch must still give exactly
// the results of its packets sent one by one. These are the two orders that early finishing could get wrong.
import { describe, expect, it } from 'vitest';
import type { Datapath, PacketInput, PacketResult } from '../src/index.js';
import { ResultFlag, Verdict } from '../src/index.js';
import { newDatapath, send } from './helpers.js';

const CLUSTER_IP = 0x0a600001;
const flow = (srcPort: number): PacketInput => ({ node: 0, arrival: 'pod', protocol: 'TCP', srcIP: 0x0a000105, srcPort, dstIP: CLUSTER_IP, dstPort: 80 });

/** An iptables node and one Service with one endpoint, conntrack_max `max`. */
function oneEndpoint(seed: number, max: number): Datapath {
  const dp = newDatapath({ seed, conntrackMax: max });
  dp.addNode({ mode: 'iptables', localTrafficDetector: '10.0.0.0/16' });
  dp.setServicePort(0, {});
  dp.addServiceAddress('TCP', CLUSTER_IP, 80, 0, 'ClusterIP');
  dp.setEndpoints(0, [{ ip: 0x0a000201, port: 8080, node: 0, id: 10 }]);
  return dp;
}

function oneByOne(dp: Datapath, packets: PacketInput[]): PacketResult[] {
  return packets.flatMap((p) => send(dp, [p]));
}

describe('a batch gives the results of its packets one by one', () => {
  it('IPVS lc: a connection made assured later in the batch is still inactive for an earlier new connection', () => {
    // lc weighs an active connection 256 and an inactive one 1. A (endpoint 0) and C (endpoint 1) are unassured:
    // 1 and 1, so B takes endpoint 0 (ties go to the first). Activating A first (A's second packet is later in the
    // batch) would make it 256 and 1, and B would go to endpoint 1.
    const setup = (): Datapath => {
      const dp = newDatapath({ seed: 3 });
      dp.addNode({ mode: 'ipvs', ipvsScheduler: 'lc', localTrafficDetector: '10.0.0.0/16' });
      dp.setServicePort(0, {});
      dp.addServiceAddress('TCP', CLUSTER_IP, 80, 0, 'ClusterIP');
      dp.setEndpoints(0, [{ ip: 0x0a000201, port: 8080, node: 0, id: 10 }, { ip: 0x0a000202, port: 8080, node: 0, id: 11 }]);
      expect(send(dp, [flow(1000)])[0]!.endpointId).toBe(10); // A
      expect(send(dp, [flow(1001)])[0]!.endpointId).toBe(11); // C
      return dp;
    };
    const packets = [flow(1002), flow(1000)]; // B (new), then A's second packet
    const run = (batched: boolean) => {
      const dp = setup();
      const results = batched ? send(dp, packets) : oneByOne(dp, packets);
      return { results, ep10: dp.ipvsConnections(0, 0, CLUSTER_IP, 10), ep11: dp.ipvsConnections(0, 0, CLUSTER_IP, 11) };
    };
    const batched = run(true);
    expect(batched).toEqual(run(false));
    expect(batched.results[0]!.endpointId).toBe(10);
    expect(batched.results[1]!.flags & ResultFlag.CONNTRACK_HIT).toBe(ResultFlag.CONNTRACK_HIT);
    expect(batched.ep10).toEqual({ active: 1, inactive: 1 }); // A now active, B inactive
    expect(batched.ep11).toEqual({ active: 0, inactive: 1 });
  });

  it('full conntrack: a new connection that evicts an unassured entry comes before that entry\'s next packet', () => {
    // conntrack_max 3 in 64 slots: A is in its home slot; X is a new flow whose home slot is A's, so when the table
    // is full X early-drops A (the first not-assured entry from its bucket). A's next packet, later in the same
    // batch, must then find no entry and be a new connection again.
    const setup = () => oneEndpoint(5, 3);
    const probe = setup();
    const home = (p: PacketInput) => probe.exports.coreFlowHash(0, 0, p.srcIP, p.srcPort, p.dstIP, p.dstPort) & 63;
    const a = flow(2000);
    const x = Array.from({ length: 5000 }, (_, i) => flow(3000 + i)).find((p) => home(p) === home(a))!;
    const fillers = Array.from({ length: 5000 }, (_, i) => flow(9000 + i)).filter((p) => {
      const h = home(p);
      return ((h - home(a)) & 63) > 12 && ((home(a) - h) & 63) > 12; // far from A's bucket
    }).slice(0, 2);
    expect(x).toBeDefined();
    const run = (batched: boolean): PacketResult[] => {
      const dp = setup();
      send(dp, [a, ...fillers]); // 3 unassured entries: the table is full
      expect(dp.conntrackStats().entries).toBe(3);
      const packets = [x, a];
      const out = batched ? send(dp, packets) : oneByOne(dp, packets);
      expect(dp.conntrackStats().earlyDrops).toBe(2); // X evicts A, then A's packet evicts X
      return out;
    };
    const batched = run(true);
    expect(batched).toEqual(run(false));
    expect(batched[1]!.verdict).toBe(Verdict.DNAT);
    expect(batched[1]!.flags & ResultFlag.CONNTRACK_HIT).toBe(0);
    expect(batched[1]!.flags & ResultFlag.EARLY_DROP).toBe(ResultFlag.EARLY_DROP);
  });

  it('full conntrack: a new connection whose probe is long still comes before a later packet of the entry it evicts', () => {
    // conntrack_max 4 in 64 slots, A in its home slot h and three fillers in h+1..h+3: the table is full and X, a new
    // flow whose home is h too, probes past the lines touched first. X early-drops A; A's next packet, later in the
    // same batch, must be a new connection again.
    const setup = () => oneEndpoint(7, 4);
    const probe = setup();
    const home = (p: PacketInput) => probe.exports.coreFlowHash(0, 0, p.srcIP, p.srcPort, p.dstIP, p.dstPort) & 63;
    const candidates = Array.from({ length: 20000 }, (_, i) => flow(20000 + i));
    const a = candidates.find((p) => home(p) % 2 === 0)!;
    const h = home(a);
    const fillers = [1, 2, 3].map((d) => candidates.find((p) => home(p) === ((h + d) & 63))!);
    const x = candidates.find((p) => p !== a && home(p) === h)!;
    const run = (batched: boolean): PacketResult[] => {
      const dp = setup();
      send(dp, [a, ...fillers]);
      expect(dp.conntrackStats().entries).toBe(4);
      const packets = [x, a];
      return batched ? send(dp, packets) : oneByOne(dp, packets);
    };
    const batched = run(true);
    expect(batched).toEqual(run(false));
    expect(batched[0]!.flags & ResultFlag.EARLY_DROP).toBe(ResultFlag.EARLY_DROP);
    expect(batched[1]!.flags & ResultFlag.CONNTRACK_HIT).toBe(0);
  });
});
