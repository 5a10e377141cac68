import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CniIpamJson } from '../src/commands/cni.js';
import { foldAddresses } from '../src/commands/cni.js';
import { cli, tempDir } from './support.js';

const { path, file } = tempDir('kube-netsim-cni-');

describe('kube-netsim cni max-pods', () => {
  it('prints the known values as JSON', async () => {
    const r = await cli('cni', 'max-pods', '-t', 't3.small', '-t', 'm5.large', '-t', 'm4.large', '-t', 'c5.18xlarge', '-t', 'p5.48xlarge', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ 't3.small': 11, 'm5.large': 29, 'm4.large': 20, 'c5.18xlarge': 737, 'p5.48xlarge': 100 });
  });

  it('applies the EKS calculator cap with --cap-vcpus', async () => {
    expect(JSON.parse((await cli('cni', 'max-pods', '-t', 'c5.18xlarge', '--cap-vcpus', '72', '--json')).out)).toEqual({ 'c5.18xlarge': 250 });
  });

  it('shows the arithmetic in text, and the prefix-delegation fallback on Xen', async () => {
    const r = await cli('cni', 'max-pods', '-t', 'm5.large', '-t', 'm4.large', '--prefix-delegation');
    expect(r.code).toBe(0);
    expect(r.out).toContain('m5.large: 3 ENIs × (10 − 1) × 16 + 2 = 434');
    expect(r.out).toContain('m4.large: 2 ENIs × (10 − 1) + 2 = 20');
    expect(r.out).toContain('prefix delegation needs Nitro or bare metal');
    expect((await cli('cni', 'max-pods', '-t', 'm5.large', '--custom-networking')).out).toContain('m5.large: (3 − 1) ENIs × (10 − 1) + 2 = 20');
  });

  it('lists every type with --all, agreeing with upstream eni-max-pods.txt', async () => {
    const all = JSON.parse((await cli('cni', 'max-pods', '--all', '--json')).out) as Record<string, number>;
    expect(Object.keys(all)).toHaveLength(1391);
    const fixture = readFileSync(new URL('../../../packages/model/test/fixtures/eni-max-pods.txt', import.meta.url), 'utf8');
    let compared = 0;
    for (const line of fixture.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const [type, value] = line.split(/\s+/);
      if (all[type!] === undefined) continue;
      expect(all[type!], type).toBe(Number(value));
      compared++;
    }
    expect(compared).toBe(869);
  });

  it('exits 2 on an unknown type and suggests the nearest names', async () => {
    const r = await cli('cni', 'max-pods', '-t', 'm5.lage');
    expect(r.code).toBe(2);
    expect(r.err).toContain('Unknown instance type "m5.lage"');
    expect(r.err).toMatch(/did you mean m5\.large/);
    expect(r.out).toBe('');
  });

  it('exits 2 without a type', async () => {
    const r = await cli('cni', 'max-pods');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--instance-type');
  });
});

const tinyCluster = (awsNodeEnv = '') => `apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata: { name: tiny, region: us-west-2 }
vpc:
  cidr: 10.0.0.0/16
  subnets:
    private:
      us-west-2a: { id: subnet-a, cidr: 10.0.0.0/28, az: us-west-2a }
      us-west-2b: { id: subnet-b, cidr: 10.0.1.0/24, az: us-west-2b }
nodeGroups:
  - name: ng
    instanceType: t3.small
    desiredCapacity: 1
    privateNetworking: true
    availabilityZones: [us-west-2a]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: default }
spec:
  replicas: 7
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: nginx }]
${awsNodeEnv}`;

const awsNode = (env: Record<string, string>) => `---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: aws-node, namespace: kube-system }
spec:
  selector: { matchLabels: { k8s-app: aws-node } }
  template:
    metadata: { labels: { k8s-app: aws-node } }
    spec:
      hostNetwork: true
      containers:
        - name: aws-node
          image: amazon-k8s-cni
          env:
${Object.entries(env)
  .map(([k, v]) => `            - { name: ${k}, value: "${v}" }`)
  .join('\n')}
`;

describe('kube-netsim cni ipam', () => {
  it("shows each node's ENIs and addresses and the subnet that ran dry", async () => {
    const r = await cli('cni', 'ipam', '-f', file('tiny.yaml', tinyCluster()), '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as CniIpamJson;
    expect(json.nodes).toHaveLength(1);
    const node = json.nodes[0]!;
    // /28: 11 addresses. Node IP + 3 secondaries, then a second ENI of 4; a third ENI (4 more) does not fit.
    expect(node.enis.map((e) => [e.interfaceName, e.secondaryIPs.length, e.routeTable])).toEqual([
      ['eth0', 3, 'main'],
      ['eth1', 3, 2],
    ]);
    expect(node.assigned).toBe(6);
    expect(node.warm).toBe(0);
    expect(json.subnets.find((s) => s.id === 'subnet-a')).toMatchObject({ size: 16, reserved: 5, inUse: 8, free: 3 });
    expect(json.events.some((e) => e.reason === 'InsufficientFreeAddressesInSubnet')).toBe(true);

    const text = await cli('cni', 'ipam', '-f', path('tiny.yaml'));
    expect(text.out).toContain('6 assigned, 0 warm');
    expect(text.out).toMatch(/eth1\s+eni-[0-9a-f]{17}\s+subnet-a 10\.0\.0\.0\/28/);
    expect(text.out).toContain("subnet doesn't seem to have enough IPs/Prefixes");
  });

  it('reads the aws-node DaemonSet env', async () => {
    const r = await cli('cni', 'ipam', '-f', file('warm-ip.yaml', tinyCluster(awsNode({ WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '2' }))), '--json');
    expect(r.code).toBe(0);
    const node = (JSON.parse(r.out) as CniIpamJson).nodes[0]!;
    // 7 pods, 1 warm: 8 addresses over 3 ENIs (3 + 3 + 2) plus 3 ENI primary IPs = the 11 the /28 has.
    expect(node.totalIPs).toBe(8);
    expect(node.assigned).toBe(7);
    expect(node.enis).toHaveLength(3);
  });

  it('exits 2 for an unknown node, naming the nodes', async () => {
    const r = await cli('cni', 'ipam', '-f', path('tiny.yaml'), '--node', 'nope');
    expect(r.code).toBe(2);
    expect(r.err).toContain('no node nope; nodes: ip-10-0-0-4.us-west-2.compute.internal');
  });
});

describe('kube-netsim cni plan', () => {
  it('finds where a /28 runs out for one t3.small, by simulation, and compares settings', async () => {
    const r = await cli('cni', 'plan', '-t', 't3.small', '--nodes', '1', '--pods', '5', '--subnet', '10.0.0.0/28', '--json');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out);
    const at = plan.current.atTarget;
    expect(at.assigned).toBe(5);
    expect(at.addressesHeld).toBe(at.assigned + at.warm + at.eniPrimaryIPs);
    // WARM_ENI_TARGET=1: 2 ENIs of 4 addresses; the third ENI needs 4 of the 3 left: the 7th pod finds nothing.
    expect(at.addressesHeld).toBe(8);
    expect(plan.current).toMatchObject({ runsOutAt: 6, reason: 'subnet' });
    // The formula: ceil(5/3) + 1 = 3 ENIs × 4 = 12 wanted, more than the subnet has.
    expect(plan.formula.total).toBe(12);
    // WARM_IP_TARGET: 3 ENI primaries + 8 IPs use the 11 addresses; the 9th pod finds nothing.
    const warmIP = plan.alternatives.find((a: { label: string }) => a.label.startsWith('WARM_IP_TARGET'));
    expect(warmIP).toMatchObject({ runsOutAt: 8, reason: 'subnet' });
  });

  it('prints the arithmetic and the comparison in text', async () => {
    const r = await cli('cni', 'plan', '-t', 'm5.large', '--nodes', '2', '--pods', '20', '--subnet', '10.0.0.0/24');
    expect(r.code).toBe(0);
    expect(r.out).toContain('10 pods: ENIs = min(ceil(10/9) + WARM_ENI_TARGET 1, max ENIs 3, ceil(max pods 29/9)) = 3; 3 × (9 + 1 primary) = 30');
    expect(r.out).toContain('total 30 + 30 = 60 addresses');
    expect(r.out).toMatch(/Other settings, same scale-up/);
  });

  it('exits 2 on bad numbers', async () => {
    expect((await cli('cni', 'plan', '-t', 'm5.large', '--nodes', '0', '--pods', '3')).code).toBe(2);
    expect((await cli('cni', 'plan', '-t', 'm5.large', '--nodes', 'two', '--pods', '3')).code).toBe(2);
  });
});

describe('foldAddresses', () => {
  it('folds runs of consecutive addresses', () => {
    expect(foldAddresses(['10.0.0.7', '10.0.0.5', '10.0.0.6', '10.0.0.9', '10.0.0.255', '10.0.1.0'])).toBe('10.0.0.5-10.0.0.7, 10.0.0.9, 10.0.0.255-10.0.1.0');
  });
});

describe('kube-netsim cni routes', () => {
  it("prints a node's ip rules, routes and the CNI's iptables rules in iptables-save order", async () => {
    const path = file('routes.yaml', tinyCluster());
    const node = 'ip-10-0-0-4.us-west-2.compute.internal';
    const r = await cli('cni', 'routes', '-f', path, '--node', node, '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as { rules: string; routes: string; iptables: { nat: { rules: string[] } } };
    const ipam = JSON.parse((await cli('cni', 'ipam', '-f', path, '--node', node, '--json')).out) as CniIpamJson;
    const pods = ipam.nodes[0]!.pods;
    for (const p of pods) expect(json.rules).toContain(`512:\tfrom all to ${p.ip} lookup main\n`);
    for (const p of pods.filter((x) => x.deviceIndex === 1)) expect(json.rules).toContain(`1536:\tfrom ${p.ip} lookup 2\n`);
    expect(json.routes).toContain('default via 10.0.0.1 dev eth0 \n');
    expect(json.iptables.nat.rules).toContain(
      '-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.0.4 --random-fully',
    );
    const text = (await cli('cni', 'routes', '-f', path, '--node', node)).out;
    const nat = text.slice(text.indexOf('*nat'), text.indexOf('*mangle')).split('\n').filter((l) => l.startsWith('-A '));
    expect(nat.map((l) => l.split(' ')[1])).toEqual([
      'PREROUTING',
      'PREROUTING',
      'POSTROUTING',
      'AWS-CONNMARK-CHAIN-0',
      'AWS-CONNMARK-CHAIN-0',
      'AWS-SNAT-CHAIN-0',
      'AWS-SNAT-CHAIN-0',
    ]);
  });
});

describe('kube-netsim cni plan: subnet size', () => {
  it('names the smallest subnet that fits the busiest subnet of the plan', async () => {
    // 3 × m5.large, 20 pods each: 3 ENIs × (9 + 1) = 30 addresses a node; nodes 1 and 3 share the first subnet: 60 > 59 of a /26.
    const plan = JSON.parse((await cli('cni', 'plan', '-t', 'm5.large', '--nodes', '3', '--pods', '60', '--subnet', '10.0.0.0/26', '--subnet', '10.0.0.64/26', '--json')).out);
    expect(plan.unconstrained).toEqual({ addressesHeld: 90, perSubnet: 60, prefixLength: 25 });
    expect(plan.current.reason).toBe('subnet');
  });
});

const customNetworking = `apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata: { name: cn, region: us-west-2 }
vpc:
  cidr: 10.0.0.0/16
  secondaryCIDRs: [100.64.0.0/16]
  subnets:
    private:
      us-west-2a: { id: subnet-a, cidr: 10.0.0.0/24, az: us-west-2a }
      us-west-2b: { id: subnet-b, cidr: 10.0.1.0/24, az: us-west-2b }
      pods-a: { id: subnet-pods-a, cidr: 100.64.0.0/19, az: us-west-2a }
      pods-b: { id: subnet-pods-b, cidr: 100.64.32.0/19, az: us-west-2b }
nodeGroups:
  - name: ng
    instanceType: m5.large
    desiredCapacity: 2
    privateNetworking: true
    subnets: [us-west-2a, us-west-2b]
---
apiVersion: crd.k8s.amazonaws.com/v1alpha1
kind: ENIConfig
metadata: { name: us-west-2a }
spec: { subnet: subnet-pods-a, securityGroups: [sg-1] }
---
apiVersion: crd.k8s.amazonaws.com/v1alpha1
kind: ENIConfig
metadata: { name: us-west-2b }
spec: { subnet: subnet-pods-b, securityGroups: [sg-1] }
${awsNode({ AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true', ENI_CONFIG_LABEL_DEF: 'topology.kubernetes.io/zone' })}---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: default }
spec:
  replicas: 6
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: nginx }]
`;

describe('kube-netsim cni ipam with custom networking', () => {
  it('puts pod ENIs in the ENIConfig subnet of each node zone (ENI_CONFIG_LABEL_DEF=topology.kubernetes.io/zone)', async () => {
    const r = await cli('cni', 'ipam', '-f', file('custom-networking.yaml', customNetworking), '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as CniIpamJson;
    expect(json.nodes.map((n) => [n.subnetId, n.eniConfig, n.podSubnetId])).toEqual([
      ['subnet-a', 'us-west-2a', 'subnet-pods-a'],
      ['subnet-b', 'us-west-2b', 'subnet-pods-b'],
    ]);
    for (const n of json.nodes) {
      expect(n.enis[0]!.secondaryIPs).toEqual([]);
      for (const p of n.pods) expect(p.ip.startsWith('100.64.')).toBe(true);
    }
    expect(json.nodes.reduce((s, n) => s + n.assigned, 0)).toBe(6);
  });
});

describe('kube-netsim cni ipam on a kubenet-style cluster', () => {
  it('exits 2: its pod IPs come from host-local ranges', async () => {
    const nodes = `apiVersion: v1
kind: Node
metadata: { name: worker-1 }
spec: { podCIDR: 10.244.1.0/24 }
status: { addresses: [{ type: InternalIP, address: 192.168.1.10 }] }
`;
    const r = await cli('cni', 'ipam', '-f', file('kubenet.yaml', nodes));
    expect(r.code).toBe(2);
    expect(r.err).toContain('pod IPs come from host-local, not the VPC CNI');
  });
});
