// Behaviour of the WASM datapath as kube-proxy and the kernel define it (reference notes §1, §2.4–2.6).
import { describe, expect, it } from 'vitest';
import { ArrivalCode, DatapathAbortError, DatapathError, PACKET_WORDS, Packet, ProtocolNumber, RESULT_WORDS, Result, ResultFlag, Verdict, loadDatapath, packPacketHead,
  packPorts, resultDstPort, resultFlags, resultServicePortId, resultVerdict, toIPv4, type Datapath, type PacketInput } from '../src/index.js';
import { makeImports } from '../src/instantiate.js';
import { ip, newDatapath, send, wasmModule } from './helpers.js';

const NODE_A = '192.168.0.1';
const NODE_B = '192.168.0.2';
const CLUSTER_IP = '10.96.0.10';

/** Two iptables nodes, pod CIDR 10.0.0.0/16, one service-port 0 on CLUSTER_IP:80 and NodePort 30080. */
function cluster(policy = {}, nodeConfig = {}): { dp: Datapath; a: number; b: number } {
  const dp = newDatapath({ seed: 7 });
  const a = dp.addNode({ localTrafficDetector: '10.0.0.0/16', ...nodeConfig });
  const b = dp.addNode({ localTrafficDetector: '10.0.0.0/16', ...nodeConfig });
  dp.setLocalAddress(a, NODE_A);
  dp.setLocalAddress(b, NODE_B);
  dp.setServicePort(0, policy);
  dp.addServiceAddress('TCP', CLUSTER_IP, 80, 0);
  dp.setNodePort('TCP', 30080, 0);
  return { dp, a, b };
}

const toCluster = (node: number, srcIP: string, srcPort = 40000, arrival: PacketInput['arrival'] = 'pod'): PacketInput =>
  ({ node, arrival, protocol: 'TCP', srcIP, srcPort, dstIP: CLUSTER_IP, dstPort: 80 });
const toNodePort = (node: number, nodeIP: string, srcIP: string, arrival: PacketInput['arrival'], srcPort = 40000): PacketInput =>
  ({ node, arrival, protocol: 'TCP', srcIP, srcPort, dstIP: nodeIP, dstPort: 30080 });

describe('service matching and no-endpoint verdicts', () => {
  it('passes traffic that is no service address, untracked', () => {
    const { dp, a } = cluster();
    const [r] = send(dp, [{ ...toCluster(a, '10.0.1.1'), dstIP: '10.96.0.11' }]);
    expect(r).toMatchObject({ verdict: Verdict.PASS, dstIP: ip('10.96.0.11'), dstPort: 80, endpointId: -1, servicePortId: -1 });
    expect(dp.conntrackStats().entries).toBe(0);
  });

  it('REJECTs a ClusterIP with no usable endpoint anywhere (not-ready, not terminating ones do not count)', () => {
    const { dp, a } = cluster();
    expect(send(dp, [toCluster(a, '10.0.1.1')])[0]!.verdict).toBe(Verdict.REJECT);
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a, ready: false, serving: false }]);
    expect(send(dp, [toCluster(a, '10.0.1.1', 40001)])[0]!.verdict).toBe(Verdict.REJECT);
  });

  it('falls back to serving and terminating endpoints only when no endpoint is ready', () => {
    const { dp, a } = cluster();
    dp.setEndpoints(0, [
      { ip: '10.0.2.1', port: 8080, node: a, ready: false, serving: true, terminating: true, id: 1 },
      { ip: '10.0.2.2', port: 8080, node: a, ready: false, serving: false, terminating: true, id: 2 },
    ]);
    const results = send(dp, Array.from({ length: 20 }, (_, i) => toCluster(a, '10.0.1.1', 41000 + i)));
    expect(new Set(results.map((r) => r.endpointId))).toEqual(new Set([1]));
    dp.setEndpoints(0, [
      { ip: '10.0.2.1', port: 8080, node: a, ready: false, serving: true, terminating: true, id: 1 },
      { ip: '10.0.2.3', port: 8080, node: a, id: 3 },
    ]);
    const after = send(dp, Array.from({ length: 20 }, (_, i) => toCluster(a, '10.0.1.1', 42000 + i)));
    expect(new Set(after.map((r) => r.endpointId))).toEqual(new Set([3]));
  });

  it('DROPs internalTrafficPolicy Local traffic on a node without a local endpoint, and uses only local ones otherwise', () => {
    const { dp, a, b } = cluster({ internalTrafficPolicy: 'Local' });
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a, id: 1 }, { ip: '10.0.3.1', port: 8080, node: a, id: 2 }]);
    expect(send(dp, [toCluster(b, '10.0.1.1')])[0]).toMatchObject({ verdict: Verdict.DROP, servicePortId: 0 });
    const onA = send(dp, Array.from({ length: 20 }, (_, i) => toCluster(a, '10.0.1.1', 43000 + i)));
    expect(onA.every((r) => r.verdict === Verdict.DNAT && (r.flags & ResultFlag.LOCAL_POLICY) !== 0)).toBe(true);
  });
});

describe('a host process and a LoadBalancer IP without endpoints', () => {
  // iptables mode puts "has no endpoints" REJECTs of external and LB IPs in KUBE-EXTERNAL-SERVICES, jumped to from
  // INPUT and FORWARD only: a host process's packet to a LB IP that is not local leaves the node. nftables' reject
  // is in a chain on output too; ipvs binds the LB IP locally and its empty virtual server answers. A NodePort on a
  // node address is local, so the host's packet reaches INPUT and is rejected in every mode.
  const LB_IP = '1.2.3.4';
  for (const [mode, lb] of [['iptables', Verdict.PASS], ['nftables', Verdict.REJECT], ['ipvs', Verdict.REJECT]] as const) {
    it(`${mode}: the LB IP → ${lb === Verdict.PASS ? 'PASS' : 'REJECT'}; pods and outside and the NodePort → REJECT`, () => {
      const { dp, a } = cluster({}, { mode });
      dp.addServiceAddress('TCP', LB_IP, 80, 0, 'LoadBalancerIP');
      const toLB = (srcIP: string, arrival: PacketInput['arrival']): PacketInput => ({ ...toCluster(a, srcIP, 40000, arrival), dstIP: LB_IP });
      const [host, pod, outside, nodePort] = send(dp, [
        toLB(NODE_A, 'host'), toLB('10.0.1.1', 'pod'), toLB('8.8.8.8', 'external'), toNodePort(a, NODE_A, NODE_A, 'host'),
      ]);
      expect([host!.verdict, pod!.verdict, outside!.verdict, nodePort!.verdict]).toEqual([lb, Verdict.REJECT, Verdict.REJECT, Verdict.REJECT]);
      dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a, id: 3 }]);
      expect(send(dp, [toLB(NODE_A, 'host')])[0]).toMatchObject({ verdict: Verdict.DNAT, endpointId: 3 });
    });
  }
});

describe('masquerade (KUBE-MARK-MASQ)', () => {
  it('to a ClusterIP: not from the pod CIDR, yes from outside it, always with masqueradeAll, never without a detector', () => {
    const { dp, a } = cluster();
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a }]);
    const [fromPod, fromNode] = send(dp, [toCluster(a, '10.0.1.1'), toCluster(a, NODE_A, 40000, 'host')]);
    expect(fromPod!.flags & ResultFlag.MASQUERADE).toBe(0);
    expect(fromNode!.flags & (ResultFlag.MASQUERADE | ResultFlag.SNAT)).toBe(ResultFlag.MASQUERADE | ResultFlag.SNAT);

    const all = cluster({}, { masqueradeAll: true });
    all.dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: all.a }]);
    expect(send(all.dp, [toCluster(all.a, '10.0.1.1')])[0]!.flags & ResultFlag.MASQUERADE).toBe(ResultFlag.MASQUERADE);

    const none = cluster({}, { localTrafficDetector: null });
    none.dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: none.a }]);
    expect(send(none.dp, [toCluster(none.a, '8.8.8.8', 40000, 'external')])[0]!.flags & ResultFlag.MASQUERADE).toBe(0);
  });

  it('hairpin: an endpoint reaching itself through the Service is masqueraded', () => {
    const { dp, a } = cluster();
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a }]);
    expect(send(dp, [toCluster(a, '10.0.2.1')])[0]!.flags & ResultFlag.MASQUERADE).toBe(ResultFlag.MASQUERADE);
  });

  it('NodePort with externalTrafficPolicy Cluster: always masqueraded, any endpoint', () => {
    const { dp, a, b } = cluster();
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: b, id: 9 }]);
    const [r] = send(dp, [toNodePort(a, NODE_A, '8.8.8.8', 'external')]);
    expect(r).toMatchObject({ verdict: Verdict.DNAT, endpointId: 9, dstIP: ip('10.0.2.1'), dstPort: 8080 });
    expect(r!.flags & (ResultFlag.MASQUERADE | ResultFlag.NODEPORT)).toBe(ResultFlag.MASQUERADE | ResultFlag.NODEPORT);
  });

  it('NodePort with externalTrafficPolicy Local: outside → local endpoints, source kept, DROP without; pods → all; host → all, masqueraded', () => {
    const { dp, a, b } = cluster({ externalTrafficPolicy: 'Local' });
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: b, id: 5 }]);
    const [outsideA, outsideB, podA, hostA] = send(dp, [
      toNodePort(a, NODE_A, '8.8.8.8', 'external'),
      toNodePort(b, NODE_B, '8.8.8.8', 'external'),
      toNodePort(a, NODE_A, '10.0.1.1', 'pod'),
      toNodePort(a, NODE_A, NODE_A, 'host'),
    ]);
    expect(outsideA!.verdict).toBe(Verdict.DROP);
    expect(outsideB).toMatchObject({ verdict: Verdict.DNAT, endpointId: 5 });
    expect(outsideB!.flags & ResultFlag.MASQUERADE).toBe(0);
    expect(podA).toMatchObject({ verdict: Verdict.DNAT, endpointId: 5 });
    expect(podA!.flags & ResultFlag.MASQUERADE).toBe(0);
    expect(hostA).toMatchObject({ verdict: Verdict.DNAT, endpointId: 5 });
    expect(hostA!.flags & ResultFlag.MASQUERADE).toBe(ResultFlag.MASQUERADE);
  });

  it('localhost NodePorts: only host processes, only in iptables mode with the option on, masqueraded', () => {
    const { dp, a } = cluster();
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a }]);
    const [host, pod] = send(dp, [toNodePort(a, '127.0.0.1', '127.0.0.1', 'host'), toNodePort(a, '127.0.0.1', '10.0.1.1', 'pod')]);
    expect(host!.verdict).toBe(Verdict.DNAT);
    expect(host!.flags & ResultFlag.MASQUERADE).toBe(ResultFlag.MASQUERADE);
    expect(pod!.verdict).toBe(Verdict.PASS);
    const off = cluster({}, { localhostNodePorts: false });
    off.dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: off.a }]);
    expect(send(off.dp, [toNodePort(off.a, '127.0.0.1', '127.0.0.1', 'host')])[0]!.verdict).toBe(Verdict.PASS);
  });

  it('NodePorts are accepted only on addresses flagged for them (nftables nodePortAddresses)', () => {
    const { dp, a } = cluster({}, { mode: 'nftables' });
    dp.setLocalAddress(a, '192.168.9.9', { nodePort: false });
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a }]);
    const [primary, other] = send(dp, [toNodePort(a, NODE_A, '8.8.8.8', 'external'), toNodePort(a, '192.168.9.9', '8.8.8.8', 'external')]);
    expect(primary!.verdict).toBe(Verdict.DNAT);
    expect(other!.verdict).toBe(Verdict.PASS);
  });
});

describe('conntrack', () => {
  it('keeps an established connection on its endpoint after the endpoints change, until it expires', () => {
    const { dp, a } = cluster();
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a, id: 1 }]);
    const first = send(dp, [toCluster(a, '10.0.1.1')])[0]!;
    dp.setEndpoints(0, [{ ip: '10.0.2.2', port: 8080, node: a, id: 2 }]);
    const second = send(dp, [toCluster(a, '10.0.1.1')])[0]!;
    expect(first).toMatchObject({ endpointId: 1 });
    expect(second).toMatchObject({ verdict: Verdict.DNAT, endpointId: 1, dstIP: ip('10.0.2.1'), servicePortId: 0 });
    expect(second.flags & ResultFlag.CONNTRACK_HIT).toBe(ResultFlag.CONNTRACK_HIT);
    // Assured now: TCP established timeout 432000 s.
    dp.advanceTime(431_999);
    expect(send(dp, [toCluster(a, '10.0.1.1')])[0]!.endpointId).toBe(1);
    dp.advanceTime(432_000);
    const fresh = send(dp, [toCluster(a, '10.0.1.1')])[0]!;
    expect(fresh.endpointId).toBe(2);
    expect(fresh.flags & ResultFlag.CONNTRACK_HIT).toBe(0);
  });

  it('expires an unassured TCP entry after 120 s and frees it on sweep', () => {
    const { dp, a } = cluster();
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a }]);
    send(dp, [toCluster(a, '10.0.1.1')]);
    dp.advanceTime(119);
    expect(dp.sweep()).toBe(0);
    dp.advanceTime(1);
    expect(dp.sweep()).toBe(1);
    expect(dp.conntrackStats().entries).toBe(0);
  });

  it('a full table of assured entries drops new connections and counts them; established ones still pass', () => {
    const dp = newDatapath({ conntrackMax: 4 });
    const n = dp.addNode({});
    dp.setServicePort(0, {});
    dp.addServiceAddress('TCP', CLUSTER_IP, 80, 0);
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: n }]);
    const flows = [0, 1, 2, 3].map((i) => toCluster(n, '10.0.1.1', 1000 + i));
    send(dp, [...flows, ...flows]); // second packets: assured
    const [extra, established] = send(dp, [toCluster(n, '10.0.1.1', 2000), flows[0]!]);
    expect(extra!.verdict).toBe(Verdict.DROP_CONNTRACK_FULL);
    expect(established!.flags & ResultFlag.CONNTRACK_HIT).toBe(ResultFlag.CONNTRACK_HIT);
    expect(dp.conntrackStats()).toMatchObject({ entries: 4, drops: 1, earlyDrops: 0 });
  });

  it('a full table of expired assured entries (not swept yet) evicts them for new connections', () => {
    const dp = newDatapath({ conntrackMax: 48 }); // 64 slots: ¾ occupied, so every new flow has entries in its range
    const n = dp.addNode({});
    dp.setServicePort(0, {});
    dp.addServiceAddress('TCP', CLUSTER_IP, 80, 0);
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: n }]);
    const flows = Array.from({ length: 48 }, (_, i) => toCluster(n, '10.0.1.1', 1000 + i));
    send(dp, [...flows, ...flows]); // assured: 432000 s
    const fresh = Array.from({ length: 20 }, (_, i) => toCluster(n, '10.0.1.2', 3000 + i));
    expect(send(dp, fresh.slice(0, 1))[0]!.verdict).toBe(Verdict.DROP_CONNTRACK_FULL); // all live and assured
    dp.advanceTime(432_001);
    const results = send(dp, fresh);
    expect(results.map((r) => [r.verdict, r.flags & ResultFlag.EARLY_DROP])).toEqual(fresh.map(() => [Verdict.DNAT, ResultFlag.EARLY_DROP]));
    expect(dp.conntrackStats()).toMatchObject({ entries: 48, drops: 1, earlyDrops: 20 });
  });

  it('a full table evicts a not-yet-assured neighbour instead, never exceeding the maximum', () => {
    const dp = newDatapath({ conntrackMax: 48 }); // 64 slots: a full table is ¾ occupied
    const n = dp.addNode({});
    dp.setServicePort(0, {});
    dp.addServiceAddress('TCP', CLUSTER_IP, 80, 0);
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: n }]);
    const results = send(dp, Array.from({ length: 200 }, (_, i) => toCluster(n, '10.0.1.1', 1000 + i)));
    const stats = dp.conntrackStats();
    const evicting = results.filter((r) => r.flags & ResultFlag.EARLY_DROP).length;
    const dropped = results.filter((r) => r.verdict === Verdict.DROP_CONNTRACK_FULL).length;
    expect(stats.entries).toBe(48);
    expect(evicting).toBeGreaterThan(0);
    expect(stats.earlyDrops).toBe(evicting);
    expect(stats.drops).toBe(dropped);
    expect(48 + evicting).toBe(200 - dropped);
  });
});

describe('IPVS round robin', () => {
  it('cycles per virtual server and per node: ClusterIP and each node address:NodePort separately', () => {
    const { dp, a, b } = cluster({}, { mode: 'ipvs', ipvsScheduler: 'rr' });
    dp.setEndpoints(0, [0, 1, 2].map((i) => ({ ip: `10.0.2.${i + 1}`, port: 8080, node: a, id: i })));
    const ids = (packets: PacketInput[]) => send(dp, packets).map((r) => r.endpointId);
    expect(ids([0, 1, 2, 3].map((i) => toCluster(a, '10.0.1.1', 1000 + i)))).toEqual([0, 1, 2, 0]);
    expect(ids([0, 1].map((i) => toNodePort(a, NODE_A, '8.8.8.8', 'external', 2000 + i)))).toEqual([0, 1]);
    expect(ids([0, 1].map((i) => toCluster(b, '10.0.1.1', 3000 + i)))).toEqual([0, 1]);
    expect(ids([toCluster(a, '10.0.1.1', 4000)])).toEqual([1]);
  });
});

// kube-proxy's ipvs mode (pkg/proxy/ipvs/proxier.go syncEndpoint, kubernetes#97081), as explainIpvs walks it: a
// virtual server of a Local policy holds the local endpoints, or the cluster endpoints when the node has none; the
// eTP-Local sets (KUBE-NODE-PORT-LOCAL-TCP, KUBE-LOAD-BALANCER-LOCAL) RETURN before KUBE-MARK-MASQ for every source.
describe('IPVS traffic policy Local', () => {
  const ipvsCluster = (policy = {}) => cluster(policy, { mode: 'ipvs', ipvsScheduler: 'rr' });

  it('NodePort eTP Local without a local endpoint: every source reaches the remote endpoint, none masqueraded', () => {
    const { dp, a } = ipvsCluster({ externalTrafficPolicy: 'Local', externallyAccessible: true });
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: 1, id: 5 }]);
    const results = send(dp, [
      toNodePort(a, NODE_A, '8.8.8.8', 'external'),
      toNodePort(a, NODE_A, '10.0.1.1', 'pod'),
      toNodePort(a, NODE_A, NODE_A, 'host'),
    ]);
    for (const r of results) {
      expect(r).toMatchObject({ verdict: Verdict.DNAT, endpointId: 5, dstIP: ip('10.0.2.1'), dstPort: 8080 });
      expect(r.flags & (ResultFlag.MASQUERADE | ResultFlag.LOCAL_POLICY)).toBe(0);
    }
  });

  it('NodePort eTP Local with a local endpoint: pods get it too (no short-circuit to all endpoints)', () => {
    const { dp, a, b } = ipvsCluster({ externalTrafficPolicy: 'Local', externallyAccessible: true });
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: b, id: 5 }, { ip: '10.0.2.2', port: 8080, node: a, id: 7 }]);
    const results = send(dp, [0, 1, 2, 3].map((i) => toNodePort(a, NODE_A, '10.0.1.1', 'pod', 41000 + i)));
    for (const r of results) {
      expect(r).toMatchObject({ verdict: Verdict.DNAT, endpointId: 7 });
      expect(r.flags & (ResultFlag.MASQUERADE | ResultFlag.LOCAL_POLICY)).toBe(ResultFlag.LOCAL_POLICY);
    }
  });

  it('ClusterIP iTP Local without a local endpoint: the cluster endpoints when externally accessible, else REJECT', () => {
    const accessible = ipvsCluster({ internalTrafficPolicy: 'Local', externallyAccessible: true });
    accessible.dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: accessible.b, id: 5 }]);
    expect(send(accessible.dp, [toCluster(accessible.a, '10.0.1.1')])[0]).toMatchObject({ verdict: Verdict.DNAT, endpointId: 5 });

    // A ClusterIP-only Service: kube-proxy computes no cluster endpoints for it, so the virtual server is empty.
    const clusterOnly = ipvsCluster({ internalTrafficPolicy: 'Local' });
    clusterOnly.dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: clusterOnly.b, id: 5 }]);
    const [onA, onB] = send(clusterOnly.dp, [toCluster(clusterOnly.a, '10.0.1.1'), toCluster(clusterOnly.b, '10.0.1.1')]);
    expect(onA!.verdict).toBe(Verdict.REJECT);
    expect(onB).toMatchObject({ verdict: Verdict.DNAT, endpointId: 5 });
  });

  it('iptables mode keeps DROPping the same packets (the fallback is per node mode)', () => {
    const { dp, a } = cluster({ internalTrafficPolicy: 'Local', externalTrafficPolicy: 'Local', externallyAccessible: true });
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: 1, id: 5 }]);
    const [clusterIP, nodePort] = send(dp, [toCluster(a, '10.0.1.1'), toNodePort(a, NODE_A, '8.8.8.8', 'external')]);
    expect(clusterIP!.verdict).toBe(Verdict.DROP);
    expect(nodePort!.verdict).toBe(Verdict.DROP);
  });
});

describe('session affinity ClientIP', () => {
  it('sends a client back to its endpoint within the timeout, and chooses afresh after it', () => {
    const { dp, a } = cluster({ sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 30 });
    dp.setEndpoints(0, Array.from({ length: 8 }, (_, i) => ({ ip: `10.0.2.${i + 1}`, port: 8080, node: a, id: i })));
    const first = send(dp, [toCluster(a, '10.0.1.1', 1000)])[0]!;
    const again = send(dp, Array.from({ length: 10 }, (_, i) => toCluster(a, '10.0.1.1', 1001 + i)));
    expect(again.every((r) => r.endpointId === first.endpointId && (r.flags & ResultFlag.AFFINITY) !== 0)).toBe(true);
    dp.advanceTime(31);
    const later = send(dp, Array.from({ length: 30 }, (_, i) => toCluster(a, '10.0.1.1', 2000 + i * 100)));
    expect(later[0]!.flags & ResultFlag.AFFINITY).toBe(0);
  });

  // xt_recent's `--rcheck --seconds T` matches a stamp no older than T (inclusive); nftables' sets and IPVS
  // persistence templates are modelled the same way. Each hit refreshes the client's time.
  for (const nodeConfig of [{ mode: 'iptables' }, { mode: 'nftables' }, { mode: 'ipvs', ipvsScheduler: 'rr' }] as const) {
    it(`${nodeConfig.mode}: still matches exactly T seconds after the last packet, not T + 1`, () => {
      const { dp, a } = cluster({ sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 30 }, nodeConfig);
      dp.setEndpoints(0, Array.from({ length: 8 }, (_, i) => ({ ip: `10.0.2.${i + 1}`, port: 8080, node: a, id: i })));
      const first = send(dp, [toCluster(a, '10.0.1.1', 1000)])[0]!;
      expect(first.flags & ResultFlag.AFFINITY).toBe(0);
      for (const [i, seconds] of [30, 30].entries()) {
        dp.advanceTime(seconds);
        const r = send(dp, [toCluster(a, '10.0.1.1', 1001 + i)])[0]!;
        expect([r.verdict, r.endpointId, r.flags & ResultFlag.AFFINITY]).toEqual([Verdict.DNAT, first.endpointId, ResultFlag.AFFINITY]);
      }
      dp.advanceTime(31);
      const expired = send(dp, [toCluster(a, '10.0.1.1', 1100)])[0]!;
      expect([expired.verdict, expired.flags & ResultFlag.AFFINITY]).toEqual([Verdict.DNAT, 0]);
    });
  }
});

describe('API edge', () => {
  it('refuses to remap a service address or NodePort owned by another service-port', () => {
    const { dp } = cluster();
    dp.setServicePort(1, {});
    expect(() => dp.addServiceAddress('TCP', CLUSTER_IP, 80, 1)).toThrow(expect.objectContaining({ code: 'E_DATAPATH_CONFLICT' }));
    expect(() => dp.setNodePort('TCP', 30080, 1)).toThrow(DatapathError);
  });

  it('names the bad argument in TypeError / RangeError', () => {
    const { dp } = cluster();
    expect(() => dp.addServiceAddress('ICMP' as never, CLUSTER_IP, 80, 0)).toThrow(/`protocol`/);
    expect(() => dp.addServiceAddress('TCP', '10.96.0.300', 80, 0)).toThrow(TypeError);
    expect(() => dp.addServiceAddress('TCP', CLUSTER_IP, 70000, 0)).toThrow(/`port`.*70000/);
    expect(() => dp.setEndpoints(3, [])).toThrow(/service-port 3 is not defined/);
    expect(() => dp.setEndpoints(0, [{ ip: '10.0.0.1', port: 0, node: 0 }])).toThrow(/`endpoints\[0\]\.port`/);
    expect(() => dp.addNode({ mode: 'userspace' as never })).toThrow(/`config.mode`/);
    expect(() => newDatapath({ conntrackMax: 0 })).toThrow(RangeError);
    expect(() => dp.setLocalAddress(9, NODE_A)).toThrow(/`node`/);
  });

  it('packs a packet record only when every field is valid, and reads the record back as it was written', () => {
    const { dp, a } = cluster();
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a, id: 4 }]);
    const batch = dp.createBatch(2);
    batch.setPacket(0, toCluster(a, '10.0.1.1'));
    const before = batch.packets.slice(0, PACKET_WORDS);
    expect(() => batch.setPacket(0, { ...toCluster(a, '10.0.1.1'), node: 65535 })).toThrow(/`packet.node`.*65535/);
    expect(() => batch.setPacket(0, { ...toCluster(a, '10.0.1.1'), srcIP: '10.0.1.300' })).toThrow(TypeError);
    expect(batch.packets.slice(0, PACKET_WORDS)).toEqual(before); // nothing half-written
    const w = batch.packets;
    expect(w[Packet.nodeArrivalProtocol]! & 0xffff).toBe(a);
    expect(w[Packet.nodeArrivalProtocol]! >>> 24).toBe(ProtocolNumber.TCP);
    expect(w[Packet.srcPortDstPort]).toBe(packPorts(toCluster(a, '10.0.1.1').srcPort, 80));
    // Written by hand in the packed words, a packet is the same record as through setPacket.
    const fields = { node: a, arrival: 'pod' as const, protocol: 'TCP' as const, srcIP: '10.0.1.2', srcPort: 40000, dstIP: CLUSTER_IP, dstPort: 80 };
    batch.setPacket(1, fields);
    const viaSetter = batch.packets.slice(PACKET_WORDS, 2 * PACKET_WORDS);
    batch.packets.set([packPacketHead(a, ArrivalCode.pod, ProtocolNumber.TCP), toIPv4('10.0.1.2'), toIPv4(CLUSTER_IP), packPorts(40000, 80)], PACKET_WORDS);
    expect(batch.packets.slice(PACKET_WORDS, 2 * PACKET_WORDS)).toEqual(viaSetter);
    // The result words as documented, against what this cluster must answer: its one endpoint, service-port 0.
    dp.processBatch(batch, 2);
    for (const i of [0, 1]) {
      const r = batch.results;
      const o = i * RESULT_WORDS;
      expect(r[o + Result.verdictFlags]! & 0xff).toBe(Verdict.DNAT);
      expect(r[o + Result.dstIP]).toBe(toIPv4('10.0.2.1'));
      expect(r[o + Result.endpointId]).toBe(4);
      expect(r[o + Result.dstPortServicePort]).toBe(8080); // port 8080 low, service-port 0 high
      expect(batch.result(i)).toMatchObject({ verdict: Verdict.DNAT, dstIP: toIPv4('10.0.2.1'), dstPort: 8080, endpointId: 4, servicePortId: 0 });
    }
    // The same flows again: conntrack hits, the flag in bits 8 and up of the first word.
    dp.processBatch(batch, 2);
    expect((batch.results[Result.verdictFlags]! >>> 8) & ResultFlag.CONNTRACK_HIT).toBe(ResultFlag.CONNTRACK_HIT);
    // A packet to no service: the "none" values, 0xffff for the service-port and 0xffffffff for the endpoint.
    batch.setPacket(0, { ...fields, dstIP: '10.96.0.11' });
    dp.processBatch(batch, 1);
    expect(batch.results[Result.dstPortServicePort]).toBe((0xffff0000 | 80) >>> 0);
    expect(batch.results[Result.endpointId]).toBe(0xffffffff);
    expect(batch.result(0)).toMatchObject({ verdict: Verdict.PASS, dstPort: 80, endpointId: -1, servicePortId: -1 });
    // The unpacking helpers on known words.
    const word = Verdict.REJECT | (ResultFlag.NODEPORT << 8);
    expect([resultVerdict(word), resultFlags(word)]).toEqual([Verdict.REJECT, ResultFlag.NODEPORT]);
    expect([resultDstPort((0xffff0000 | 30080) >>> 0), resultServicePortId((0xffff0000 | 30080) >>> 0)]).toEqual([30080, -1]);
    expect([resultDstPort((7 << 16) | 80), resultServicePortId((7 << 16) | 80)]).toEqual([80, 7]);
  });

  it('turns a trap into a DatapathAbortError with file and line', () => {
    const { imports, bind } = makeImports();
    const memory = new WebAssembly.Memory({ initial: 1 });
    const put = (at: number, text: string) => {
      new DataView(memory.buffer).setUint32(at - 4, text.length * 2, true);
      new Uint16Array(memory.buffer, at, text.length).set([...text].map((c) => c.charCodeAt(0)));
    };
    put(64, 'index out of range');
    put(256, 'assembly/conntrack.ts');
    bind({ exports: { memory } } as unknown as WebAssembly.Instance);
    const abort = (imports.env as { abort: (...a: number[]) => never }).abort;
    expect(() => abort(64, 256, 42, 7)).toThrow(DatapathAbortError);
    expect(() => abort(64, 256, 42, 7)).toThrow('index out of range at assembly/conntrack.ts:42:7');
  });

  it('gives independent instances that agree when fed the same', async () => {
    const one = await loadDatapath({ wasm: wasmModule, seed: 3 });
    const two = newDatapath({ seed: 3 });
    for (const dp of [one, two]) {
      const n = dp.addNode({});
      dp.setServicePort(0, {});
      dp.addServiceAddress('UDP', CLUSTER_IP, 53, 0);
      dp.setEndpoints(0, Array.from({ length: 5 }, (_, i) => ({ ip: `10.0.2.${i}`, port: 53, node: n })));
    }
    const packets: PacketInput[] = Array.from({ length: 50 }, (_, i) => ({ node: 0, arrival: 'pod', protocol: 'UDP', srcIP: '10.0.1.1', srcPort: 5000 + i, dstIP: CLUSTER_IP, dstPort: 53 }));
    expect(send(one, packets)).toEqual(send(two, packets));
    expect(one.conntrackStats().entries).toBe(50);
    one.flushConntrack();
    expect(two.conntrackStats().entries).toBe(50);
  });

  it('keeps batch views valid when the memory grows', () => {
    const { dp, a } = cluster();
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a, id: 4 }]);
    const batch = dp.createBatch(4);
    const before = dp.memory.buffer;
    const big = new Uint32Array(60_000 * 4).map((_, w) => (w % 4 === 1 ? 80 | 0x70000 : w % 4 === 0 ? 0x0a100000 + w : 0));
    for (let sp = 1; sp < 50 && dp.memory.buffer === before; sp++) {
      dp.setServicePort(sp, {});
      dp.setEndpointRecords(sp, big); // ~1.2 MB per service-port until the memory grows
    }
    expect(dp.memory.buffer === before).toBe(false);
    batch.setPacket(0, toCluster(a, '10.0.1.1'));
    dp.processBatch(batch, 1);
    expect(batch.result(0)).toMatchObject({ verdict: Verdict.DNAT, endpointId: 4 });
  });
});

describe('tables under growth and removal', () => {
  it('keep every entry through rehashes and backward-shift deletions (against the reference)', async () => {
    const { ReferenceDatapath } = await import('../src/reference/index.js');
    const dp = newDatapath({ seed: 11, conntrackMax: 50_000, servicePortCapacity: 1, serviceAddressCapacity: 1 });
    const ref = new ReferenceDatapath({ seed: 11, conntrackMax: 50_000 });
    const SPS = 1500;
    for (const t of [dp, ref] as const) {
      const ipvs = t.addNode({ mode: 'ipvs', ipvsScheduler: 'rr', localTrafficDetector: '10.0.0.0/16' });
      const lc = t.addNode({ mode: 'ipvs', ipvsScheduler: 'lc' });
      for (let n = 0; n < 300; n++) t.setLocalAddress(ipvs, 0xc0a80000 + n);
      for (let n = 0; n < 300; n += 2) t.removeLocalAddress(ipvs, 0xc0a80000 + n);
      for (let sp = 0; sp < SPS; sp++) {
        t.setServicePort(sp, { sessionAffinity: sp % 3 === 0 ? 'ClientIP' : 'None' });
        t.addServiceAddress('TCP', 0x0a600000 + sp, 80, sp);
        t.setEndpoints(sp, [0, 1, 2].map((j) => ({ ip: 0x0a010000 + sp * 4 + j, port: 8080, node: j % 2 === 0 ? ipvs : lc, id: sp * 4 + j })));
      }
      t.setNodePort('TCP', 30001, 1);
      for (let sp = 0; sp < SPS; sp += 2) t.removeServiceAddress('TCP', 0x0a600000 + sp, 80);
    }
    const packets: PacketInput[] = [];
    for (let sp = 0; sp < SPS; sp++) {
      for (let c = 0; c < 3; c++) packets.push({ node: sp % 2, arrival: 'pod', protocol: 'TCP', srcIP: 0x0a000100 + ((sp * 7 + c) % 200), srcPort: 2000 + c, dstIP: 0x0a600000 + sp, dstPort: 80 });
    }
    for (let n = 0; n < 300; n++) packets.push({ node: 0, arrival: 'external', protocol: 'TCP', srcIP: 0x08080800 + n, srcPort: 999, dstIP: 0xc0a80000 + n, dstPort: 30001 });
    const wasm = send(dp, packets);
    expect(wasm).toEqual(ref.processAll(packets));
    expect(wasm.filter((r) => r.verdict === Verdict.PASS).length).toBe((SPS / 2) * 3 + 150);
    dp.advanceTime(200);
    ref.advanceTime(200);
    expect(dp.sweep()).toBe(ref.sweep());
    expect(send(dp, packets)).toEqual(ref.processAll(packets));
  });
});

describe('iptables recent lists and nftables affinity sets', () => {
  it('iptables evicts the least recently seen of 100 clients per endpoint; nftables keeps them', async () => {
    for (const [mode, others, expectHit] of [['iptables', 99, true], ['iptables', 100, false], ['nftables', 100, true]] as const) {
      const { ReferenceDatapath } = await import('../src/reference/index.js');
      const dp = newDatapath({ seed: 4, conntrackMax: 10_000 });
      const ref = new ReferenceDatapath({ seed: 4, conntrackMax: 10_000 });
      const outcomes = [];
      for (const t of [dp, ref] as const) {
        const n = t.addNode({ mode });
        t.setServicePort(0, { sessionAffinity: 'ClientIP' });
        t.addServiceAddress('TCP', CLUSTER_IP, 80, 0);
        const x = { ip: '10.0.2.1', port: 8080, node: n, id: 1 };
        t.setEndpoints(0, [x]);
        const clients = ['10.0.1.1', ...Array.from({ length: others }, (_, i) => `10.0.3.${i}`)];
        const firstRound = clients.map((c) => toCluster(n, c, 1000));
        const next = toCluster(n, '10.0.1.1', 2000);
        const run = (packets: PacketInput[]) => (t === dp ? send(dp, packets) : ref.processAll(packets));
        run(firstRound); // every client lands on X, the only endpoint: X's list fills in order
        t.setEndpoints(0, [{ ip: '10.0.2.0', port: 8080, node: n, id: 0 }, x]); // a new endpoint first in rule order
        outcomes.push(run([next])[0]!);
      }
      expect(outcomes[0]).toEqual(outcomes[1]);
      expect((outcomes[0]!.flags & ResultFlag.AFFINITY) !== 0).toBe(expectHit);
      if (expectHit) expect(outcomes[0]!.endpointId).toBe(1);
    }
  });

  it('forgets a removed endpoint\'s list (its chain and recent table are gone)', () => {
    const { dp, a } = cluster({ sessionAffinity: 'ClientIP' });
    const x = { ip: '10.0.2.1', port: 8080, node: a, id: 1 };
    dp.setEndpoints(0, [x]);
    send(dp, [toCluster(a, '10.0.1.1', 1000)]);
    expect(dp.exports.coreRecentListCount()).toBe(1);
    dp.setEndpoints(0, [{ ip: '10.0.2.2', port: 8080, node: a, id: 2 }]);
    expect(dp.exports.coreRecentListCount()).toBe(0);
  });
});

describe('nftables cluster-ips-check', () => {
  it('rejects a ClusterIP on an unknown port and drops an unallocated service-CIDR address; iptables passes both', () => {
    for (const [mode, port, other] of [['nftables', Verdict.REJECT, Verdict.DROP], ['iptables', Verdict.PASS, Verdict.PASS]] as const) {
      const { dp, a } = cluster({}, { mode, serviceCIDR: '10.96.0.0/12' });
      dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a }]);
      const [wrongPort, unallocated, outside] = send(dp, [
        { ...toCluster(a, '10.0.1.1'), dstPort: 81 },
        { ...toCluster(a, '10.0.1.1'), dstIP: '10.96.7.7' },
        { ...toCluster(a, '10.0.1.1'), dstIP: '10.200.0.1' },
      ]);
      expect([wrongPort!.verdict, unallocated!.verdict, outside!.verdict]).toEqual([port, other, Verdict.PASS]);
    }
  });

  // ipvs: every ClusterIP is bound to kube-ipvs0, so a port that is no virtual server meets KUBE-IPVS-FILTER on
  // INPUT (REJECT, whatever the arrival: a host process's packet reaches INPUT over lo); unallocated addresses pass.
  it('ipvs mode rejects a ClusterIP on an unknown port from every arrival and passes an unallocated address', () => {
    const { dp, a } = cluster({}, { mode: 'ipvs', serviceCIDR: '10.96.0.0/12' });
    dp.setEndpoints(0, [{ ip: '10.0.2.1', port: 8080, node: a }]);
    const wrongPort = send(dp, [
      { ...toCluster(a, '10.0.1.1'), dstPort: 81 },
      { ...toCluster(a, NODE_A, 40000, 'host'), dstPort: 81 },
      { ...toCluster(a, '8.8.8.8', 40000, 'external'), dstPort: 30080 },
    ]);
    expect(wrongPort.map((r) => r.verdict)).toEqual([Verdict.REJECT, Verdict.REJECT, Verdict.REJECT]);
    expect(send(dp, [{ ...toCluster(a, '10.0.1.1'), dstIP: '10.96.7.7' }])[0]!.verdict).toBe(Verdict.PASS);
  });
});

describe('conntrack sweep on a dense table', () => {
  it('removes exactly the expired entries and keeps every live one findable (against the reference)', async () => {
    const fc = (await import('fast-check')).default;
    const { ReferenceDatapath } = await import('../src/reference/index.js');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 47 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 120 }), fc.integer({ min: 0, max: 0xffff }), (steps, seed) => {
        const dp = newDatapath({ seed, conntrackMax: 48 }); // 64 slots, up to ¾ full: long clusters
        const ref = new ReferenceDatapath({ seed, conntrackMax: 48 });
        for (const t of [dp, ref] as const) {
          const n = t.addNode({});
          t.setServicePort(0, {});
          t.addServiceAddress('UDP', CLUSTER_IP, 53, 0);
          t.setEndpoints(0, [{ ip: '10.0.2.1', port: 53, node: n }, { ip: '10.0.2.2', port: 53, node: n }]);
          t.setConntrackTimeouts('UDP', 6, 12);
        }
        const packet = (flow: number): PacketInput => ({ node: 0, arrival: 'pod', protocol: 'UDP', srcIP: '10.0.1.1', srcPort: 1000 + flow, dstIP: CLUSTER_IP, dstPort: 53 });
        for (const [flow, advance] of steps) {
          if (advance) { dp.advanceTime(advance); ref.advanceTime(advance); expect(dp.sweep()).toBe(ref.sweep()); }
          expect(send(dp, [packet(flow)])).toEqual(ref.processAll([packet(flow)]));
        }
        const all = Array.from({ length: 48 }, (_, f) => packet(f));
        expect(send(dp, all)).toEqual(ref.processAll(all));
      }),
      { numRuns: 300 },
    );
  });
});
