// loadBalancerSourceRanges in the datapath, on the WASM core and the reference alike: each mode's verdict for a new
// connection to a load-balancer IP, as kube-proxy's rules give it (iptables KUBE-FW-… + KUBE-PROXY-FIREWALL,
// nftables firewall-check before DNAT, ipvs KUBE-SOURCE-RANGES-FIREWALL and KUBE-IPVS-OUT-FILTER), "allow from
// node" per node, and what the ranges do not touch: NodePorts, external IPs, established connections.
import { describe, expect, it } from 'vitest';
import { CoreStatus, ResultFlag, Verdict, type Datapath, type NodeConfig, type PacketInput, type PacketResult, type ProxyMode } from '../src/index.js';
import { ReferenceDatapath, flowHash } from '../src/reference/index.js';
import { ip, newDatapath, send } from './helpers.js';

const LB = '1.2.3.4';
const LB2 = '1.2.3.5';
const NODE_A = '192.168.0.2';
const NODE_B = '192.168.1.2';
/** The ranges contain node A's IP, not node B's. */
const RANGES = ['203.0.113.0/24', '192.168.0.0/24'];

type Api = Pick<Datapath, 'addNode' | 'configureNode' | 'setLocalAddress' | 'setServicePort' | 'addServiceAddress' | 'removeServicePort' | 'setNodePort' | 'setEndpoints' | 'conntrackStats'>;
interface Impl { name: string; create: () => Api; run: (api: Api, packets: PacketInput[]) => PacketResult[] }

const IMPLS: Impl[] = [
  { name: 'wasm', create: () => newDatapath({ seed: 3, serviceAddressCapacity: 4 }), run: (api, packets) => send(api as Datapath, packets) },
  { name: 'reference', create: () => new ReferenceDatapath({ seed: 3 }), run: (api, packets) => (api as ReferenceDatapath).processAll(packets) },
];

/** Nodes A and B, service-port 0 with LB IPs LB and LB2 on TCP 80 (ranges RANGES), NodePort 30080, one endpoint. */
function setup(impl: Impl, mode: ProxyMode, endpoints = true): Api {
  const dp = impl.create();
  dp.addNode({ mode, nodeIP: NODE_A });
  dp.addNode({ mode, nodeIP: NODE_B });
  dp.setLocalAddress(0, NODE_A);
  dp.setLocalAddress(1, NODE_B);
  dp.setServicePort(0, { externallyAccessible: true });
  dp.addServiceAddress('TCP', '10.96.0.10', 80, 0);
  dp.addServiceAddress('TCP', LB, 80, 0, 'LoadBalancerIP', { loadBalancerSourceRanges: RANGES });
  dp.addServiceAddress('TCP', LB2, 80, 0, 'LoadBalancerIP', { loadBalancerSourceRanges: RANGES });
  dp.setNodePort('TCP', 30080, 0);
  if (endpoints) dp.setEndpoints(0, [{ ip: '10.0.1.5', port: 8080, node: 0, id: 5 }]);
  return dp;
}

let port = 40000;
const pk = (node: number, srcIP: string, dstIP = LB, arrival: PacketInput['arrival'] = 'external', dstPort = 80): PacketInput =>
  ({ node, arrival, protocol: 'TCP', srcIP, srcPort: port++, dstIP, dstPort });
const verdicts = (rs: PacketResult[]) => rs.map((r) => r.verdict);
const { DNAT, DROP, REJECT, PASS } = Verdict;

describe.each(IMPLS)('loadBalancerSourceRanges ($name)', (impl) => {
  const run = (dp: Api, packets: PacketInput[]) => impl.run(dp, packets);

  it.each(['iptables', 'nftables', 'ipvs'] as const)('%s: a source in a range reaches the endpoints, another is dropped without a conntrack entry', (mode) => {
    const dp = setup(impl, mode);
    const [ok, out] = run(dp, [pk(0, '203.0.113.9'), pk(0, '198.51.100.1')]);
    expect(ok).toMatchObject({ verdict: DNAT, endpointId: 5 });
    expect(out).toMatchObject({ verdict: DROP, flags: ResultFlag.SOURCE_RANGES, servicePortId: 0, endpointId: -1 });
    expect(dp.conntrackStats().entries).toBe(1);
    // The packet's own source is tested (the SNAT to the node comes later): a pod outside the ranges is dropped.
    expect(verdicts(run(dp, [pk(0, '10.0.1.7', LB, 'pod'), pk(1, '192.168.0.77', LB, 'pod')]))).toEqual([DROP, DNAT]);
  });

  it.each([['iptables', REJECT], ['nftables', DROP], ['ipvs', DROP]] as const)(
    '%s without endpoints: a source outside the ranges gets %s', (mode, verdict) => {
      // iptables writes KUBE-FW-… only for a Service with endpoints, so KUBE-EXTERNAL-SERVICES' REJECT answers;
      // nftables and ipvs filter before the Service is looked at.
      const dp = setup(impl, mode, false);
      expect(verdicts(run(dp, [pk(0, '198.51.100.1'), pk(0, '203.0.113.9')]))).toEqual([verdict, REJECT]);
    });

  it.each(['iptables', 'nftables'] as const)('%s: allow from node admits every LB IP of the service-port as a source, on that node only', (mode) => {
    const dp = setup(impl, mode);
    // Node A's IP is in a range: LB and LB2 are allowed sources there; node B's is not.
    expect(verdicts(run(dp, [pk(0, LB2, LB, 'pod'), pk(0, LB, LB, 'pod'), pk(1, LB2, LB, 'pod'), pk(1, LB, LB, 'pod')]))).toEqual([DNAT, DNAT, DROP, DROP]);
    // A host process's source is tested like any other (KUBE-PROXY-FIREWALL is on OUTPUT too; nftables' output hook).
    expect(verdicts(run(dp, [pk(1, NODE_B, LB, 'host'), pk(0, NODE_A, LB, 'host')]))).toEqual([DROP, DNAT]);
  });

  it('ipvs: allow from node admits only the address itself as a source; host connections meet KUBE-IPVS-OUT-FILTER alone', () => {
    const dp = setup(impl, 'ipvs');
    expect(verdicts(run(dp, [pk(0, LB, LB, 'pod'), pk(0, LB2, LB, 'pod'), pk(1, LB, LB, 'pod')]))).toEqual([DNAT, DROP, DROP]);
    // OUTPUT has no KUBE-PROXY-FIREWALL: node B's own IP passes; the VIP as source (a process's address on
    // kube-ipvs0) is dropped where the node IP is in no range.
    expect(verdicts(run(dp, [pk(1, NODE_B, LB, 'host'), pk(1, LB, LB, 'host'), pk(0, LB, LB, 'host')]))).toEqual([DNAT, DROP, DNAT]);
  });

  it('does not touch NodePorts, external IPs or ClusterIPs of the same Service', () => {
    const dp = setup(impl, 'iptables');
    dp.addServiceAddress('TCP', '44.0.0.1', 80, 0, 'ExternalIP');
    const rs = run(dp, [pk(0, '198.51.100.1', NODE_A, 'external', 30080), pk(0, '198.51.100.1', '44.0.0.1'), pk(0, '198.51.100.1', '10.96.0.10', 'pod')]);
    expect(verdicts(rs)).toEqual([DNAT, DNAT, DNAT]);
  });

  it('keeps established connections when the ranges change; new ones meet the new ranges', () => {
    const dp = setup(impl, 'nftables');
    const first = pk(0, '203.0.113.9');
    expect(run(dp, [first])[0]!.verdict).toBe(DNAT);
    dp.addServiceAddress('TCP', LB, 80, 0, 'LoadBalancerIP', { loadBalancerSourceRanges: ['198.51.100.0/24'] });
    const [again, fresh, other] = run(dp, [first, pk(0, '203.0.113.9'), pk(0, '198.51.100.1')]);
    expect(again!.verdict).toBe(DNAT);
    expect(again!.flags & ResultFlag.CONNTRACK_HIT).toBe(ResultFlag.CONNTRACK_HIT);
    expect(verdicts([fresh!, other!])).toEqual([DROP, DNAT]);
  });

  it('drops the ranges when the address is added again without them, or becomes an external IP', () => {
    const dp = setup(impl, 'iptables');
    dp.addServiceAddress('TCP', LB, 80, 0, 'LoadBalancerIP');
    dp.addServiceAddress('TCP', LB2, 80, 0, 'ExternalIP');
    expect(verdicts(run(dp, [pk(0, '198.51.100.1'), pk(0, '198.51.100.1', LB2)]))).toEqual([DNAT, DNAT]);
    dp.addServiceAddress('TCP', LB2, 80, 0, 'LoadBalancerIP');
    expect(run(dp, [pk(0, '198.51.100.1', LB2)])[0]!.verdict).toBe(DNAT);
  });

  it('configureNode without nodeIP ends "allow from node" on that node', () => {
    const dp = setup(impl, 'iptables');
    dp.configureNode(0, { mode: 'iptables' });
    expect(verdicts(run(dp, [pk(0, LB2, LB, 'pod'), pk(0, NODE_A, LB, 'host')]))).toEqual([DROP, DNAT]);
  });

  it('keeps ranges while the address table grows, and frees them with the service-port', () => {
    const dp = setup(impl, 'iptables');
    for (let i = 0; i < 300; i++) dp.addServiceAddress('TCP', `10.97.${i >> 8}.${i & 255}`, 80, 0);
    expect(verdicts(run(dp, [pk(0, '198.51.100.1'), pk(0, '203.0.113.1')]))).toEqual([DROP, DNAT]);
    dp.removeServicePort(0);
    dp.setServicePort(0, {});
    dp.setEndpoints(0, [{ ip: '10.0.1.5', port: 8080, node: 0, id: 5 }]);
    expect(run(dp, [pk(0, '198.51.100.1')])[0]!.verdict).toBe(PASS);
    dp.addServiceAddress('TCP', LB, 80, 0, 'LoadBalancerIP');
    expect(run(dp, [pk(0, '198.51.100.1')])[0]!.verdict).toBe(DNAT);
  });

  it('rejects bad arguments by name, before changing anything', () => {
    const dp = setup(impl, 'iptables');
    expect(() => dp.addServiceAddress('TCP', '10.96.0.11', 80, 0, 'ClusterIP', { loadBalancerSourceRanges: ['10.0.0.0/8'] })).toThrow(/applies to kind "LoadBalancerIP" only/);
    expect(() => dp.addServiceAddress('TCP', '1.2.3.6', 80, 0, 'LoadBalancerIP', { loadBalancerSourceRanges: ['10.0.0.0/8', '10.0.0.0'] }))
      .toThrow(TypeError);
    expect(() => dp.addServiceAddress('TCP', '1.2.3.6', 80, 0, 'LoadBalancerIP', { loadBalancerSourceRanges: ['10.0.0.0/8', '10.0.0.0'] }))
      .toThrow(/options\.loadBalancerSourceRanges\[1\]/);
    expect(() => dp.addServiceAddress('TCP', '1.2.3.6', 80, 0, 'LoadBalancerIP', { loadBalancerSourceRanges: ['10.0.0.0/33'] })).toThrow(RangeError);
    expect(() => dp.addServiceAddress('TCP', '1.2.3.6', 80, 0, 'LoadBalancerIP', { loadBalancerSourceRanges: '10.0.0.0/8' as unknown as string[] })).toThrow(TypeError);
    expect(() => dp.addNode({ nodeIP: '192.168.0' } as NodeConfig)).toThrow(/config\.nodeIP/);
    // Nothing was added: neither address is a Service's.
    expect(verdicts(run(dp, [pk(0, '10.0.1.1', '10.96.0.11', 'pod'), pk(0, '10.0.1.1', '1.2.3.6', 'pod')]))).toEqual([PASS, PASS]);
  });

  it('ignores host bits of a range, and 0.0.0.0/0 allows every source', () => {
    const dp = setup(impl, 'nftables');
    dp.addServiceAddress('TCP', LB, 80, 0, 'LoadBalancerIP', { loadBalancerSourceRanges: ['198.51.100.77/24'] });
    dp.addServiceAddress('TCP', LB2, 80, 0, 'LoadBalancerIP', { loadBalancerSourceRanges: ['0.0.0.0/0'] });
    expect(verdicts(run(dp, [pk(0, '198.51.100.1'), pk(0, '198.51.101.1'), pk(0, '8.8.8.8', LB2)]))).toEqual([DNAT, DROP, DNAT]);
  });
});

// The kernel allocates a new connection's conntrack entry (priority −200) before the nat and filter tables, so on a
// full table the firewall never sees a packet that conntrack drops, and making room evicts whatever it then decides.
describe.each(IMPLS)('loadBalancerSourceRanges on a full conntrack table ($name)', (impl) => {
  function full(): Api {
    const dp = impl.name === 'wasm' ? newDatapath({ seed: 3, conntrackMax: 1 }) : new ReferenceDatapath({ seed: 3, conntrackMax: 1 });
    dp.addNode({ mode: 'iptables', nodeIP: NODE_A });
    dp.setServicePort(0, {});
    dp.addServiceAddress('TCP', LB, 80, 0, 'LoadBalancerIP', { loadBalancerSourceRanges: RANGES });
    dp.setEndpoints(0, [{ ip: '10.0.1.5', port: 8080, node: 0, id: 5 }]);
    return dp;
  }

  it('drops a new connection from outside the ranges as conntrack-full when nothing can be evicted', () => {
    const dp = full();
    const allowed = pk(0, '203.0.113.1');
    expect(verdicts(impl.run(dp, [allowed, allowed]))).toEqual([DNAT, DNAT]); // its second packet assures it
    expect(impl.run(dp, [pk(0, '198.51.100.1')])[0]).toMatchObject({ verdict: Verdict.DROP_CONNTRACK_FULL, flags: 0 });
    expect(dp.conntrackStats()).toMatchObject({ entries: 1, drops: 1, earlyDrops: 0 });
  });

  it('evicts an unassured entry to make room for a packet the firewall then drops, which leaves no entry', () => {
    const dp = full();
    const first = pk(0, '203.0.113.1');
    impl.run(dp, [first]);
    // A refused source whose home slot is within the kernel's eviction range (8 slots) of the first entry's (the
    // table has 64 slots and held nothing before), where the core looks for an entry to evict.
    const home = (src: string, srcPort: number) => flowHash(0, 0, ip(src), srcPort, ip(LB), 80) & 63;
    let srcPort = 1024;
    while (((home('203.0.113.1', first.srcPort) - home('198.51.100.1', srcPort)) & 63) >= 8) srcPort++;
    const [out] = impl.run(dp, [{ ...pk(0, '198.51.100.1'), srcPort }]);
    expect(out).toMatchObject({ verdict: DROP, flags: ResultFlag.SOURCE_RANGES | ResultFlag.EARLY_DROP });
    expect(dp.conntrackStats()).toMatchObject({ entries: 0, drops: 0, earlyDrops: 1 });
  });
});

describe('loadBalancerSourceRanges (wasm only)', () => {
  it('core: ranges only on an existing load-balancer address, prefix lengths up to 32', () => {
    const dp = setup(IMPLS[0]!, 'iptables') as Datapath;
    const x = dp.exports;
    const ptr = x.coreAlloc(8);
    new Uint32Array(dp.memory.buffer, ptr, 2).set([ip('10.0.0.0'), 33]);
    expect([x.coreSetSourceRanges(6, ip(LB), 80, ptr, 1), x.coreLastErrorDetail()]).toEqual([CoreStatus.BAD_ARGUMENT, 6]);
    expect([x.coreSetSourceRanges(6, ip('10.96.0.10'), 80, ptr, 0), x.coreLastErrorDetail()]).toEqual([CoreStatus.BAD_ARGUMENT, 5]);
    expect(x.coreSetSourceRanges(6, ip('1.2.3.99'), 80, ptr, 0)).toBe(CoreStatus.NOT_FOUND);
    expect(x.coreSetSourceRanges(17, ip(LB), 80, ptr, 0)).toBe(CoreStatus.NOT_FOUND);
    expect(x.coreSetSourceRanges(6, ip(LB), 80, ptr, 4097)).toBe(CoreStatus.TOO_LARGE);
    expect(x.coreSetNodeIP(7, 0, 1)).toBe(CoreStatus.BAD_NODE);
    x.coreFree(ptr);
    // The refused calls left the ranges as they were.
    expect(verdicts(send(dp, [pk(0, '198.51.100.1'), pk(0, '203.0.113.1')]))).toEqual([DROP, DNAT]);
  });
});
