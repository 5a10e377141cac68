import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/support/thrown.js';
import type { AwsNodeEnv, ENIConfig } from '../api/index.js';
import { CIDR } from '../ip/cidr.js';
import { type SubnetSpec } from './vpc.js';
import { VpcCni } from './vpc-cni.js';

const subnetA: SubnetSpec = { id: 'subnet-a', cidr: '10.0.0.0/24', zone: 'us-west-2a', public: false };
const subnetB: SubnetSpec = { id: 'subnet-b', cidr: '10.0.1.0/24', zone: 'us-west-2b', public: false };

function cni(env: AwsNodeEnv = {}, subnets: SubnetSpec[] = [subnetA, subnetB], extra: { vpcCIDRs?: string[]; eniConfigs?: ENIConfig[] } = {}) {
  return new VpcCni({ vpcCIDRs: extra.vpcCIDRs ?? ['10.0.0.0/16'], subnets, env, ...(extra.eniConfigs ? { eniConfigs: extra.eniConfigs } : {}) });
}

describe('VpcCni nodes', () => {
  it('gives the node its primary ENI primary IP from its subnet, named from that IP', () => {
    const c = cni();
    const net = c.addNode({ nodeName: (ip) => `ip-${ip.replaceAll('.', '-')}.us-west-2.compute.internal`, instanceType: 'm5.large', zone: 'us-west-2b' });
    expect(net.internalIP).toBe('10.0.1.4'); // .0-.3 are AWS's
    expect(net.nodeName).toBe('ip-10-0-1-4.us-west-2.compute.internal');
    expect(net.localAddresses).toEqual(['10.0.1.4']);
    expect(net.defaultMaxPods).toBe(29);
    const s = c.nodeStatus(net.nodeName);
    expect(s.enis).toHaveLength(1);
    expect(s.enis[0]).toMatchObject({ deviceIndex: 0, primaryIP: '10.0.1.4', subnetId: 'subnet-b', routeTable: 'main', isPrimary: true });
    expect(s.enis[0]!.secondaryIPs).toHaveLength(9); // WARM_ENI_TARGET=1 fills the primary ENI at start
    expect(c.owner('10.0.1.4')).toMatchObject({ kind: 'eni-primary', nodeName: net.nodeName, deviceIndex: 0 });
  });

  it('lists every ENI primary IP as a local address once ENIs attach (node IP first)', () => {
    const c = cni();
    c.addNode({ nodeName: 'n1', instanceType: 't3.small', subnetCIDR: '10.0.0.0/24' });
    c.assignPodIP('n1', 'default/p1'); // 2 left < 3 → a second ENI
    c.advance(5);
    const net = c.node('n1')!;
    expect(net.localAddresses).toHaveLength(2);
    expect(net.localAddresses[0]).toBe(net.internalIP);
    const eth1 = c.nodeStatus('n1').enis[1]!;
    expect(eth1).toMatchObject({ deviceIndex: 1, interfaceName: 'eth1', routeTable: 2, isPrimary: false });
    expect(net.localAddresses[1]).toBe(eth1.primaryIP);
  });

  it('takes a given node IP as observed and refuses one that is taken', () => {
    const c = cni();
    expect(c.addNode({ nodeName: 'n1', internalIP: '10.0.0.77', instanceType: 't3.small' }).internalIP).toBe('10.0.0.77');
    expect(thrown(() => c.addNode({ nodeName: 'n2', internalIP: '10.0.0.77', instanceType: 't3.small' })).code).toBe('E_NODE_IP_TAKEN');
    expect(thrown(() => c.addNode({ nodeName: 'n3', internalIP: '10.9.0.1', instanceType: 't3.small' })).code).toBe('E_NODE_IP_OUTSIDE_SUBNETS');
  });

  it('rejects an unknown instance type, naming the nearest ones', () => {
    const e = thrown(() => cni().addNode({ nodeName: 'n1', instanceType: 'm5.lage' }));
    expect(e.code).toBe('E_UNKNOWN_INSTANCE_TYPE');
    expect(e.object).toBe('Node n1');
    expect(e.hint).toContain('m5.large');
  });

  it('cannot launch a node into a full subnet', () => {
    const c = cni({}, [{ id: 'subnet-t', cidr: '10.0.0.0/28', zone: 'z', public: false }]);
    // t3.small: node IP + 3 secondaries; then attaching a 4-address ENI fails on the first pod (needs a tick).
    c.addNode({ nodeName: 'n1', instanceType: 't3.small' });
    c.addNode({ nodeName: 'n2', instanceType: 't3.small' });
    c.addNode({ nodeName: 'n3', instanceType: 't3.nano' }); // 2 × 2: node IP + 1 secondary
    expect(c.subnetStatus()[0]!.free).toBe(1);
    c.addNode({ nodeName: 'n4', instanceType: 't3.nano' }); // takes the last address for its node IP; no secondary
    expect(c.nodeStatus('n4').totalIPs).toBe(0);
    expect(c.events('n4').map((l) => l.reason)).toContain('InsufficientFreeAddressesInSubnet');
    expect(thrown(() => c.addNode({ nodeName: 'n5', instanceType: 't3.nano' })).code).toBe('E_SUBNET_FULL');
  });

  it('removing a node gives every address back to the subnet', () => {
    const c = cni();
    const before = c.subnetStatus()[0]!.free;
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large', subnetCIDR: '10.0.0.0/24' });
    c.assignPodIP('n1', 'default/p1');
    c.advance(10);
    expect(c.subnetStatus()[0]!.free).toBe(before - (1 + 9) - (1 + 9)); // two ENIs: primary IP + 9 secondaries each
    c.removeNode('n1');
    expect(c.subnetStatus()[0]!.free).toBe(before);
    expect(c.owner('10.0.0.4')).toMatchObject({ kind: 'subnet', subnetId: 'subnet-a' });
  });
});

describe('pool limits', () => {
  it('stops growing once the pool holds max pods addresses (the last step may overshoot)', () => {
    const c = cni();
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large', maxPods: 10, subnetCIDR: '10.0.0.0/24' });
    for (let i = 0; i < 17; i++) {
      c.assignPodIP('n1', `default/p${i}`);
      c.advance(10);
    }
    // 9 < 10 grows to a second ENI (18 ≥ 10, overshooting); it never attaches a third although 17 pods use 17.
    expect(c.nodeStatus('n1').enis).toHaveLength(2);
    expect(c.nodeStatus('n1').totalIPs).toBe(18);
  });

  it('MAX_ENI caps the ENIs', () => {
    const c = cni({ MAX_ENI: '1' });
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large', subnetCIDR: '10.0.0.0/24' });
    for (let i = 0; i < 10; i++) {
      c.assignPodIP('n1', `default/p${i}`);
      c.advance(10);
    }
    expect(c.nodeStatus('n1').enis).toHaveLength(1);
    expect(c.assignPodIP('n1', 'default/p10').ok).toBe(false);
  });

  it('ENABLE_POD_ENI keeps one ENI slot for the trunk ENI', () => {
    const c = cni({ ENABLE_POD_ENI: 'true' });
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large', subnetCIDR: '10.0.0.0/24' });
    for (let i = 0; i < 20; i++) {
      c.assignPodIP('n1', `default/p${i}`);
      c.advance(10);
    }
    expect(c.nodeStatus('n1').enis).toHaveLength(2); // 3 − 1
    expect(c.nodeStatus('n1').assigned).toBe(18);
  });

  it('a cooling address counts as available, so a waiting pod gets no new address until it cools (issue #2896)', () => {
    const c = cni({ WARM_IP_TARGET: '1' });
    c.addNode({ nodeName: 'n1', instanceType: 't3.medium', subnetCIDR: '10.0.0.0/24' });
    expect(c.assignPodIP('n1', 'default/p1').ok).toBe(true);
    c.advance(5); // short 1 → a second address
    expect(c.nodeStatus('n1').totalIPs).toBe(2);
    c.releasePodIP('n1', 'default/p1'); // t = 5: cooling until 35
    expect(c.assignPodIP('n1', 'default/p2').ok).toBe(true);
    expect(c.assignPodIP('n1', 'default/p3').ok).toBe(false);
    c.advance(25); // t = 30: available = 2 − 1 = 1 = WARM_IP_TARGET, so ipamd sees nothing short
    expect(c.assignPodIP('n1', 'default/p3').ok).toBe(false);
    expect(c.nodeStatus('n1')).toMatchObject({ totalIPs: 2, assigned: 1, cooling: 1, warm: 0 });
    c.advance(5); // t = 35
    expect(c.assignPodIP('n1', 'default/p3').ok).toBe(true);
  });

  it('answers the same IP to a repeated ADD of one pod', () => {
    const c = cni();
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large' });
    const first = c.assignPodIP('n1', 'default/p');
    expect(c.assignPodIP('n1', 'default/p')).toEqual(first);
  });
});

describe('prefix delegation', () => {
  it('hands out /28 prefixes on Nitro, each taking an aligned block of 16 subnet addresses', () => {
    const c = cni({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' });
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large', maxPods: 110, subnetCIDR: '10.0.0.0/24' });
    const s = c.nodeStatus('n1');
    expect(s.mode).toBe('prefix-delegation');
    expect(s.enis[0]!.prefixes).toEqual(['10.0.0.16/28']); // .0/28 holds the AWS-reserved and node addresses
    expect(c.subnetStatus()[0]).toMatchObject({ free: 256 - 5 - 1 - 16 });
    const ip = c.assignPodIP('n1', 'default/p');
    expect(ip).toEqual({ ok: true, ip: '10.0.0.16' }); // every address of a prefix is usable
    expect(c.owner('10.0.0.16')).toMatchObject({ kind: 'pod', podKey: 'default/p' });
    expect(c.owner('10.0.0.17')).toMatchObject({ kind: 'prefix', nodeName: 'n1' });
  });

  it('falls back to secondary IPs on a Xen instance, with ipamd warning', () => {
    const c = cni({ ENABLE_PREFIX_DELEGATION: 'true' });
    c.addNode({ nodeName: 'n1', instanceType: 'm4.large' }); // Xen
    const s = c.nodeStatus('n1');
    expect(s.mode).toBe('secondary-ip');
    expect(s.prefixDelegationFallback).toBe(true);
    expect(s.enis[0]!.prefixes).toEqual([]);
    expect(s.enis[0]!.secondaryIPs).toHaveLength(9);
    expect(c.events('n1').find((l) => l.reason === 'PrefixDelegationUnsupported')!.message).toBe(
      'Prefix delegation is not supported on non-nitro instance m4.large hence falling back to default (secondary IP) mode',
    );
  });

  it('refuses a prefix in a fragmented subnet that still has free addresses', () => {
    // 10.0.0.0/26: the /28 blocks at .0 and .48 hold AWS-reserved addresses; .16 and .32 are the only free blocks.
    const c = cni({ ENABLE_PREFIX_DELEGATION: 'true' }, [{ id: 'subnet-f', cidr: '10.0.0.0/26', zone: 'z', public: false }]);
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large', maxPods: 110 });
    c.addNode({ nodeName: 'n2', instanceType: 'm5.large', maxPods: 110 });
    c.addNode({ nodeName: 'n3', instanceType: 'm5.large', maxPods: 110 });
    const subnet = c.subnetStatus()[0]!;
    expect(subnet.free).toBe(64 - 5 - 3 - 32);
    expect(subnet.freePrefixBlocks).toBe(0);
    expect(c.nodeStatus('n3').enis[0]!.prefixes).toEqual([]);
    expect(c.events('n3').map((l) => l.reason)).toContain('InsufficientCidrBlocks');
    const r = c.assignPodIP('n3', 'default/p');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe('FailedCreatePodSandBox');
  });
});

describe('custom networking', () => {
  const eniConfigs: ENIConfig[] = ['us-west-2a', 'us-west-2b'].map((zone, i) => ({
    apiVersion: 'crd.k8s.amazonaws.com/v1alpha1',
    kind: 'ENIConfig',
    metadata: { name: zone },
    spec: { subnet: `subnet-pods-${i}`, securityGroups: ['sg-1'] },
  }));
  const subnets: SubnetSpec[] = [
    subnetA,
    subnetB,
    { id: 'subnet-pods-0', cidr: '100.64.0.0/19', zone: 'us-west-2a', public: false },
    { id: 'subnet-pods-1', cidr: '100.64.32.0/19', zone: 'us-west-2b', public: false },
  ];
  const env = { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true', ENI_CONFIG_LABEL_DEF: 'topology.kubernetes.io/zone' };

  it('puts pod ENIs in the ENIConfig subnet of the node zone; the primary ENI carries no pods', () => {
    const c = cni(env, subnets, { vpcCIDRs: ['10.0.0.0/16', '100.64.0.0/16'], eniConfigs });
    const net = c.addNode({ nodeName: 'n1', instanceType: 'm5.large', zone: 'us-west-2b' });
    expect(CIDR.parse('10.0.1.0/24').contains(net.internalIP)).toBe(true);
    const r = c.assignPodIP('n1', 'default/p');
    expect(r.ok).toBe(true);
    if (r.ok) expect(CIDR.parse('100.64.32.0/19').contains(r.ip)).toBe(true);
    const s = c.nodeStatus('n1');
    expect(s.eniConfig).toBe('us-west-2b');
    expect(s.enis[0]!.secondaryIPs).toEqual([]);
    expect(s.enis[1]).toMatchObject({ subnetId: 'subnet-pods-1', deviceIndex: 1 });
    expect(s.enis[1]!.primaryIP.startsWith('100.64.')).toBe(true);
  });

  it('the node annotation wins over the label; with neither, the ENIConfig named "default" is used', () => {
    const c = cni({ AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' }, subnets, { vpcCIDRs: ['10.0.0.0/16', '100.64.0.0/16'], eniConfigs });
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large', annotations: { 'k8s.amazonaws.com/eniConfig': 'us-west-2a' }, labels: { 'k8s.amazonaws.com/eniConfig': 'us-west-2b' } });
    expect(c.nodeStatus('n1').podSubnetId).toBe('subnet-pods-0');
    c.addNode({ nodeName: 'n2', instanceType: 'm5.large' });
    expect(c.nodeStatus('n2').eniConfig).toBe('default');
    expect(c.nodeStatus('n2').totalIPs).toBe(0); // no ENIConfig "default": no pod ENI, pods cannot start
    expect(c.events('n2').map((l) => l.reason)).toContain('ENIConfigNotFound');
    expect(c.assignPodIP('n2', 'default/p').ok).toBe(false);
  });

  it('the AMI default max pods overshoots what custom networking can address (issue #331)', () => {
    const c = cni(env, subnets, { vpcCIDRs: ['10.0.0.0/16', '100.64.0.0/16'], eniConfigs });
    const net = c.addNode({ nodeName: 'n1', instanceType: 'm5.large', zone: 'us-west-2a' });
    expect(net.defaultMaxPods).toBe(29); // the kubelet schedules up to 27 pods besides aws-node and kube-proxy …
    let running = 0;
    for (let i = 0; i < 27; i++) {
      let ok = c.assignPodIP('n1', `default/p${i}`).ok;
      for (let t = 0; !ok && t < 40; t++) {
        c.advance(5);
        ok = c.assignPodIP('n1', `default/p${i}`).ok;
      }
      if (ok) running++;
    }
    expect(running).toBe(18); // … but only (3 − 1) ENIs × 9 addresses exist: 9 pods stay ContainerCreating
    expect(c.nodeStatus('n1').enis.map((e) => e.secondaryIPs.length)).toEqual([0, 9, 9]);
  });

  it("an ENIConfig subnet in another zone gets no ENI attached: the node's pods cannot start", () => {
    const c = cni(env, subnets, { vpcCIDRs: ['10.0.0.0/16', '100.64.0.0/16'], eniConfigs });
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large', zone: 'us-west-2b', labels: { 'topology.kubernetes.io/zone': 'us-west-2a' } });
    expect(c.nodeStatus('n1').podSubnetId).toBe('subnet-pods-0'); // the label says 2a, the node is in 2b
    expect(c.nodeStatus('n1').enis).toHaveLength(1);
    expect(c.events('n1').map((l) => l.reason)).toContain('ENIConfigZoneMismatch');
    expect(c.assignPodIP('n1', 'default/p').ok).toBe(false);
  });

  it('rejects a subnet outside every VPC CIDR block', () => {
    const e = thrown(() => cni(env, subnets, { vpcCIDRs: ['10.0.0.0/16'] }));
    expect(e.code).toBe('E_SUBNET_OUTSIDE_VPC');
    expect(e.object).toBe('Subnet subnet-pods-0');
  });
});

describe('invariants under random pod churn', () => {
  it('pod IPs are unique, subnets account for every address, ownership agrees with the nodes', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), node: fc.nat(2), pod: fc.nat(40) }),
      fc.record({ kind: fc.constant('del' as const), node: fc.nat(2), pod: fc.nat(40) }),
      fc.record({ kind: fc.constant('tick' as const), seconds: fc.integer({ min: 1, max: 90 }) }),
    );
    const envs: AwsNodeEnv[] = [{}, { WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '4' }, { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' }];
    fc.assert(
      fc.property(fc.constantFrom(...envs), fc.array(op, { maxLength: 80 }), (env, ops) => {
        const c = cni(env, [{ id: 'subnet-s', cidr: '10.0.0.0/25', zone: 'z', public: false }]);
        const nodes = ['n0', 'n1', 'n2'];
        for (const n of nodes) c.addNode({ nodeName: n, instanceType: 't3.medium', maxPods: 40 });
        const where = new Map<string, string>();
        for (const o of ops) {
          if (o.kind === 'tick') c.advance(o.seconds);
          else if (o.kind === 'add' && !where.has(`p${o.pod}`)) {
            if (c.assignPodIP(nodes[o.node]!, `default/p${o.pod}`).ok) where.set(`p${o.pod}`, nodes[o.node]!);
          } else if (o.kind === 'del' && where.has(`p${o.pod}`)) {
            c.releasePodIP(where.get(`p${o.pod}`)!, `default/p${o.pod}`);
            where.delete(`p${o.pod}`);
          }
        }
        const statuses = nodes.map((n) => c.nodeStatus(n));
        const ips = statuses.flatMap((s) => s.pods.map((p) => p.ip));
        expect(new Set(ips).size).toBe(ips.length);
        expect(ips.length).toBe(where.size);
        const held = nodes.reduce((sum, n) => sum + c.addressesHeld(n), 0);
        const subnet = c.subnetStatus()[0]!;
        expect(subnet.inUse).toBe(held);
        expect(subnet.free + subnet.inUse + subnet.reserved).toBe(subnet.size);
        for (const s of statuses) {
          for (const p of s.pods) expect(c.owner(p.ip)).toMatchObject({ kind: 'pod', podKey: p.podKey, nodeName: s.nodeName, eniId: p.eniId });
          for (const e of s.enis) {
            expect(c.owner(e.primaryIP)).toMatchObject({ kind: 'eni-primary', eniId: e.id });
            expect(e.assigned + e.cooling).toBeLessThanOrEqual(e.secondaryIPs.length + 16 * e.prefixes.length);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('a clone evolves independently of its original', () => {
    const c = cni();
    c.addNode({ nodeName: 'n1', instanceType: 't3.small' });
    const snapshot = JSON.stringify([c.nodeStatus('n1'), c.subnetStatus(), c.now]);
    const copy = c.clone();
    for (let i = 0; i < 6; i++) {
      copy.assignPodIP('n1', `default/p${i}`);
      copy.advance(10);
    }
    copy.addNode({ nodeName: 'n2', instanceType: 't3.small' });
    expect(JSON.stringify([c.nodeStatus('n1'), c.subnetStatus(), c.now])).toBe(snapshot);
    expect(c.node('n2')).toBeUndefined();
    expect(copy.nodeStatus('n1').assigned).toBe(6);
  });
});

describe('observed pod IPs (claimPodIP)', () => {
  it("takes a pod's address onto the node's ENI, and refuses one that is another node's or another pod's", () => {
    const c = cni({}, [subnetA]);
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large' });
    c.addNode({ nodeName: 'n2', instanceType: 'm5.large' });
    const n1 = c.nodeStatus('n1').enis[0]!;
    const n2 = c.nodeStatus('n2').enis[0]!;
    // An address already on n1's ENI.
    expect(c.claimPodIP('n1', 'default/a', n1.secondaryIPs[0]!)).toEqual({ ok: true, ip: n1.secondaryIPs[0] });
    expect(c.claimPodIP('n1', 'default/a', n1.secondaryIPs[0]!)).toEqual({ ok: true, ip: n1.secondaryIPs[0] });
    const other = c.claimPodIP('n1', 'default/a', n1.secondaryIPs[1]!);
    expect(other).toMatchObject({ ok: false, reason: 'PodIPMismatch' });
    // An address of n2's ENI cannot be a pod's on n1.
    const foreign = c.claimPodIP('n1', 'default/b', n2.secondaryIPs[0]!);
    expect(foreign.ok).toBe(false);
    if (!foreign.ok) expect(foreign.message).toContain(`belongs to ENI ${n2.id} of node n2`);
    // Another pod's address.
    const taken = c.claimPodIP('n1', 'default/c', n1.secondaryIPs[0]!);
    expect(taken.ok).toBe(false);
    if (!taken.ok) expect(taken.message).toContain("it is pod default/a's on node n1");
    expect(c.claimPodIP('n1', 'default/f', n1.primaryIP)).toMatchObject({ ok: false }); // the node IP
    expect(c.owner('10.0.0.4')).toMatchObject({ kind: 'eni-primary', nodeName: 'n1' });
  });

  it('puts a free subnet address an observed pod holds onto an ENI with room', () => {
    const c = cni({ WARM_IP_TARGET: '1' }, [subnetA]);
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large' });
    const inUse = c.subnetStatus()[0]!.inUse;
    expect(c.claimPodIP('n1', 'default/d', '10.0.0.200')).toEqual({ ok: true, ip: '10.0.0.200' });
    expect(c.nodeStatus('n1').enis[0]!.secondaryIPs).toContain('10.0.0.200');
    expect(c.subnetStatus()[0]!.inUse).toBe(inUse + 1);
    expect(c.owner('10.0.0.200')).toMatchObject({ kind: 'pod', podKey: 'default/d', nodeName: 'n1' });
  });

  it('observed addresses take the place of never-used secondary IPs on a full ENI (the node keeps its count)', () => {
    const c = cni({}, [subnetA]);
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large' }); // eth0: node IP + 9 secondaries
    const inUse = c.subnetStatus()[0]!.inUse;
    for (const [pod, ip] of [['a', '10.0.0.100'], ['b', '10.0.0.101'], ['c', '10.0.0.150']] as const) {
      expect(c.claimPodIP('n1', `default/${pod}`, ip)).toEqual({ ok: true, ip });
    }
    const s = c.nodeStatus('n1');
    expect(s.totalIPs).toBe(9);
    expect(s.enis[0]!.secondaryIPs).toEqual(expect.arrayContaining(['10.0.0.100', '10.0.0.101', '10.0.0.150']));
    expect(c.subnetStatus()[0]!.inUse).toBe(inUse);
    expect(c.owner('10.0.0.13')).toMatchObject({ kind: 'subnet' }); // one of the replaced secondaries went back to EC2
  });

  it('under prefix delegation an observed address brings its /28 along', () => {
    const c = cni({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' }, [subnetA]);
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large', maxPods: 110 });
    expect(c.claimPodIP('n1', 'default/a', '10.0.0.200')).toEqual({ ok: true, ip: '10.0.0.200' });
    expect(c.nodeStatus('n1').enis[0]!.prefixes).toEqual(['10.0.0.16/28', '10.0.0.192/28']); // room for 9 prefixes
    expect(c.owner('10.0.0.201')).toMatchObject({ kind: 'prefix', nodeName: 'n1' });
  });
});

describe("ipamd's clock", () => {
  it('frees an unused ENI only once it is a minute old', () => {
    const c = cni({ WARM_IP_TARGET: '1' });
    c.addNode({ nodeName: 'n1', instanceType: 't3.small', subnetCIDR: '10.0.0.0/24' });
    for (let i = 0; i < 3; i++) {
      c.assignPodIP('n1', `default/p${i}`);
      c.advance(5);
    }
    const attached = c.events('n1').find((l) => l.reason === 'ENIAttached')!;
    for (let i = 0; i < 3; i++) c.releasePodIP('n1', `default/p${i}`);
    c.advance(attached.time + 55 - c.now);
    expect(c.nodeStatus('n1').enis).toHaveLength(2); // 55 s old: kept
    c.advance(10);
    const freed = c.events('n1').find((l) => l.reason === 'ENIFreed')!;
    expect(freed.time - attached.time).toBeGreaterThanOrEqual(60);
    expect(freed.time - attached.time).toBeLessThan(65);
    expect(c.nodeStatus('n1').enis).toHaveLength(1);
  });

  it('returns addresses to EC2 at most every 30 s', () => {
    const c = cni({ WARM_IP_TARGET: '1' });
    c.addNode({ nodeName: 'n1', instanceType: 'm5.large', subnetCIDR: '10.0.0.0/24' });
    for (let i = 0; i < 8; i++) {
      c.assignPodIP('n1', `default/p${i}`);
      c.advance(5);
    }
    for (let i = 0; i < 8; i++) {
      c.releasePodIP('n1', `default/p${i}`); // one more address over the target every 5 s
      c.advance(5);
    }
    c.advance(120);
    const times = c.events('n1').filter((l) => l.reason === 'IPsReleased').map((l) => l.time);
    expect(times.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThan(30);
    expect(c.nodeStatus('n1').totalIPs).toBe(1); // back to WARM_IP_TARGET
  });
});
