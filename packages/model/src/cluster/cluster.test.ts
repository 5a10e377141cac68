import { describe, expect, test } from 'vitest';
import { thrown } from '../../test/support/thrown.js';
import { CIDR } from '../ip/index.js';
import type { VpcCni } from '../cni/vpc-cni.js';
import { buildCluster } from './build-cluster.js';
import type { Cluster } from './cluster.js';
import * as f from './testing/fixtures.js';

/** Everything a user can observe, for before/after comparisons. */
function snapshot(c: Cluster) {
  return { objects: c.objects(), events: structuredClone(c.events()), now: c.now, ips: c.allocatedClusterIPs(), ports: c.allocatedNodePorts() };
}

function shop(): Cluster {
  return buildCluster(
    f.input({
      clusterConfig: f.clusterConfig({ nodes: 3, region: 'us-east-1' }),
      namespaces: [f.namespace('shop')],
      deployments: [f.deployment('shop', 'web', 3)],
      services: [
        f.service('shop', 'web', { app: 'web' }, [{ name: 'http', port: 80, targetPort: 'http' }], { type: 'NodePort' }),
        f.service('kube-system', 'kube-dns', { 'k8s-app': 'kube-dns' }, [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }]),
      ],
    }),
    { seed: 7 },
  );
}

describe('buildCluster', () => {
  test('node groups become EC2-named, EKS-labelled nodes, one zone after another', () => {
    const c = shop();
    const nodes = c.nodes();
    expect(nodes).toHaveLength(3);
    for (const n of nodes) {
      const ip = n.status!.addresses!.find((a) => a.type === 'InternalIP')!.address;
      expect(n.metadata.name).toBe(`ip-${ip.replace(/\./g, '-')}.ec2.internal`);
      expect(n.metadata.labels).toMatchObject({ 'node.kubernetes.io/instance-type': 'm5.large', 'alpha.eksctl.io/nodegroup-name': 'ng-1', 'kubernetes.io/hostname': n.metadata.name });
      const subnet = c.config.subnets.find((s) => s.zone === n.metadata.labels!['topology.kubernetes.io/zone'] && s.public)!;
      expect(CIDR.parse(subnet.cidr).contains(ip)).toBe(true);
      expect(c.nodeNetwork(n.metadata.name)?.internalIP).toBe(ip);
    }
    // us-east-1: two zones by default, round-robin.
    expect(nodes.map((n) => n.metadata.labels!['topology.kubernetes.io/zone']).sort()).toEqual(['us-east-1a', 'us-east-1a', 'us-east-1b']);
  });

  test('lookups by address: pod IP, node address, ClusterIP', () => {
    const c = shop();
    const pod = c.pods('shop')[0]!;
    expect(c.podByIP(pod.status!.podIP!)?.metadata.name).toBe(pod.metadata.name);
    const node = c.nodes()[0]!;
    for (const ip of c.nodeNetwork(node.metadata.name)!.localAddresses) expect(c.nodeByIP(ip)?.metadata.name).toBe(node.metadata.name);
    expect(c.podByIP(c.nodeNetwork(node.metadata.name)!.internalIP)).toBeUndefined();
    expect(c.serviceByClusterIP('10.100.0.10')?.metadata.name).toBe('kube-dns');
    expect(c.serviceByClusterIP('10.100.0.2')).toBeUndefined();
  });

  test('system namespaces, the kubernetes Service on the 1st address and kube-dns on the 10th', () => {
    const c = shop();
    expect(c.namespaces().map((n) => n.metadata.name)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system', 'shop']);
    expect(c.service('default', 'kubernetes')?.spec.clusterIP).toBe('10.100.0.1');
    expect(c.service('kube-system', 'kube-dns')?.spec.clusterIP).toBe('10.100.0.10');
    const web = c.service('shop', 'web')!;
    expect(CIDR.parse('10.100.0.0/16').contains(web.spec.clusterIP!)).toBe(true);
    expect(web.spec.ports![0]!.nodePort).toBeGreaterThanOrEqual(30086);
    expect(c.allocatedClusterIPs()).toContain(web.spec.clusterIP);
  });

  test('with the VPC CNI the build lets ipamd reach its warm target: a warm ENI beside the primary one', () => {
    const c = shop();
    const cni = c.ipam as VpcCni;
    expect(cni.name).toBe('aws-vpc-cni');
    expect(cni.pending()).toBe(false);
    for (const node of c.nodes()) expect(cni.nodeStatus(node.metadata.name).enis).toHaveLength(2);
    expect(c.now).toBeLessThanOrEqual(30);
  });

  test('a VPC inside 10.0.0.0/8 moves the service CIDR to 172.20.0.0/16', () => {
    const c = buildCluster(f.input({ clusterConfig: f.clusterConfig({ nodes: 1, vpcCIDR: '10.0.0.0/16' }) }));
    expect(c.serviceCIDR.toString()).toBe('172.20.0.0/16');
    expect(c.service('default', 'kubernetes')?.spec.clusterIP).toBe('172.20.0.1');
  });

  test('observed Services keep their ClusterIP and NodePorts; dynamic picks avoid them whatever the input order', () => {
    const observed = f.service('shop', 'old', { app: 'x' }, [{ port: 80, nodePort: 30500 }], { type: 'NodePort', clusterIP: '10.100.7.7' });
    const outOfRange = f.service('shop', 'weird', { app: 'x' }, [{ port: 80, nodePort: 40000 }], { type: 'NodePort', clusterIP: '192.0.2.1' });
    for (let seed = 0; seed < 20; seed++) {
      const fresh = Array.from({ length: 20 }, (_, i) => f.service('shop', `s${i}`, { app: 'x' }, [{ port: 80 }], { type: 'NodePort' }));
      const c = buildCluster(f.input({ namespaces: [f.namespace('shop')], services: [...fresh, observed, outOfRange] }), { seed });
      expect(c.service('shop', 'old')?.spec.clusterIP).toBe('10.100.7.7');
      expect(c.service('shop', 'old')?.spec.ports?.[0]?.nodePort).toBe(30500);
      expect(c.service('shop', 'weird')?.spec.ports?.[0]?.nodePort).toBe(40000);
      expect(c.service('shop', 'weird')?.spec.clusterIP).toBe('192.0.2.1');
      const ips = c.services().map((s) => s.spec.clusterIP);
      expect(new Set(ips).size).toBe(ips.length);
    }
  });

  test('the node port range is configurable; a given kubernetes Service without a ClusterIP still gets the first address', () => {
    const c = buildCluster(
      f.input({ services: [f.service('default', 'kubernetes', undefined, [{ name: 'https', port: 443 }]), f.service('default', 'np', { app: 'x' }, [{ port: 80 }], { type: 'NodePort' })] }),
      { serviceNodePortRange: '31000-31099' },
    );
    expect(c.service('default', 'kubernetes')?.spec.clusterIP).toBe('10.100.0.1');
    expect(c.nodePortRange).toEqual({ base: 31000, size: 100 });
    const port = c.service('default', 'np')!.spec.ports![0]!.nodePort!;
    expect(port >= 31016 && port <= 31099).toBe(true);
  });

  test('only Nodes given (kubenet-style): no node group is launched, host-local IPAM', () => {
    const c = buildCluster(f.input({ nodes: [f.node('worker-1', '10.0.0.11', { podCIDR: '10.244.5.0/24' })], pods: [f.pod('default', 'p', {})] }));
    expect(c.nodes().map((n) => n.metadata.name)).toEqual(['worker-1']);
    expect(c.ipam.name).toBe('host-local');
    expect(c.pod('default', 'p')?.status?.podIP).toBe('10.244.5.2');
  });

  test('a pod the IPAM has no IP for stays ContainerCreating with the CNI error, and starts when one frees', () => {
    const c = buildCluster(f.input({ nodes: [f.node('worker-1', '10.0.0.11', { podCIDR: '10.244.5.0/29' })], deployments: [f.deployment('default', 'web', 6)] }));
    const waiting = c.pods().filter((p) => p.status?.reason === 'ContainerCreating');
    expect(c.pods().filter((p) => p.status?.phase === 'Running')).toHaveLength(5);
    expect(waiting).toHaveLength(1);
    const [stuck] = waiting;
    expect(stuck!.status?.phase).toBe('Pending');
    expect(stuck!.status?.message).toContain('no IP addresses available in range set: 10.244.5.1-10.244.5.6');
    expect(stuck!.status?.conditions?.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
    const events = c.events(`Pod default/${stuck!.metadata.name}`).filter((e) => e.reason === 'FailedCreatePodSandBox');
    expect(events).toHaveLength(1);
    expect(events[0]!.count).toBeGreaterThan(1);
    expect(c.endpointSlices()).toEqual([]);
    const running = c.pods().find((p) => p.status?.phase === 'Running')!;
    c.delete({ kind: 'Pod', namespace: 'default', name: running.metadata.name }, { gracePeriodSeconds: 0 });
    expect(c.pod('default', stuck!.metadata.name)?.status?.phase).toBe('Running');
  });

  test('an observed running pod keeps its IP, and the IPAM does not hand it out again', () => {
    const running = f.pod('default', 'seen', { app: 'x' }, { nodeName: 'worker-1' });
    running.status = { phase: 'Running', podIP: '10.244.5.2', hostIP: '10.0.0.11' };
    const c = buildCluster(f.input({ nodes: [f.node('worker-1', '10.0.0.11', { podCIDR: '10.244.5.0/24' })], pods: [running, f.pod('default', 'new', {})] }));
    expect(c.pod('default', 'seen')?.status?.podIP).toBe('10.244.5.2');
    expect(c.pod('default', 'new')?.status?.podIP).toBe('10.244.5.3');
  });

  test('an observed pod caught terminating stays a terminating endpoint, then goes', () => {
    const leaving = f.pod('default', 'leaving', { app: 'web' }, { nodeName: 'worker-1' });
    leaving.metadata.deletionTimestamp = '2024-05-01T10:00:00Z';
    leaving.status = { phase: 'Running', podIP: '10.244.5.2', hostIP: '10.0.0.11', conditions: [{ type: 'Ready', status: 'False' }] };
    const unbound = f.pod('default', 'unbound', { app: 'web' });
    unbound.metadata.deletionTimestamp = '2024-05-01T10:00:00Z';
    const c = buildCluster(f.input({ nodes: [f.node('worker-1', '10.0.0.11', { podCIDR: '10.244.5.0/24' })], pods: [leaving, unbound], services: [f.service('default', 'web', { app: 'web' })] }));
    const [endpoint] = c.endpointSlices('default', 'web')[0]!.endpoints;
    expect(endpoint).toMatchObject({ addresses: ['10.244.5.2'], conditions: { ready: false, serving: false, terminating: true } });
    c.advance(30);
    expect(c.pods()).toEqual([]);
    expect(c.endpointSlices('default', 'web')[0]!.endpoints).toEqual([]);
  });

  test('an error about an input object carries its file position', () => {
    const input = f.input({ namespaces: [f.namespace('shop')], services: [f.service('shop', 'web', { app: 'web' }, [{ port: 80 }, { port: 81 }])] });
    input.positions.set('Service/shop/web', { file: 'shop.yaml', line: 12, column: 1 });
    const err = thrown(() => buildCluster(input));
    expect(err.position).toEqual({ file: 'shop.yaml', line: 12, column: 1 });
    expect(err.format()).toBe('shop.yaml:12:1: Service shop/web: The Service "web" is invalid: spec.ports[0].name: Required value');
  });
});

describe('changes are transactions', () => {
  test('a Service asking for a taken ClusterIP is rejected and nothing of the batch is applied', () => {
    const c = shop();
    const before = snapshot(c);
    const taken = c.service('shop', 'web')!.spec.clusterIP!;
    const err = thrown(() =>
      c.apply([f.deployment('shop', 'api', 2), f.service('shop', 'api', { app: 'api' }, [{ port: 80 }], { type: 'NodePort' }), f.service('shop', 'clash', { app: 'api' }, [{ port: 80 }], { clusterIP: taken })]),
    );
    expect(err.code).toBe('E_CLUSTER_IP_ALLOCATED');
    expect(err.object).toBe('Service shop/clash');
    expect(snapshot(c)).toEqual(before);
  });

  test('apply into a namespace that does not exist', () => {
    const c = shop();
    const err = thrown(() => c.apply([f.deployment('nowhere', 'x', 1)]));
    expect(err.message).toBe('namespaces "nowhere" not found');
    c.apply([f.namespace('nowhere'), f.deployment('nowhere', 'x', 1)]);
    expect(c.pods('nowhere')).toHaveLength(1);
  });

  test('re-applying a Service keeps its ClusterIP and NodePort; changing the ClusterIP is refused', () => {
    const c = shop();
    const web = c.service('shop', 'web')!;
    c.apply([f.service('shop', 'web', { app: 'web' }, [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'metrics', port: 9090 }], { type: 'NodePort' })]);
    const again = c.service('shop', 'web')!;
    expect(again.spec.clusterIP).toBe(web.spec.clusterIP);
    expect(again.spec.ports![0]!.nodePort).toBe(web.spec.ports![0]!.nodePort);
    // The added port gets a NodePort of its own from the default range 30000-32767, held by the allocator.
    const metrics = again.spec.ports![1]!.nodePort!;
    expect(metrics >= 30000 && metrics <= 32767, `NodePort ${metrics} in 30000-32767`).toBe(true);
    expect(metrics).not.toBe(web.spec.ports![0]!.nodePort);
    expect(c.allocatedNodePorts()).toEqual([web.spec.ports![0]!.nodePort!, metrics].sort((x, y) => x - y));
    const before = snapshot(c);
    expect(thrown(() => c.apply([f.service('shop', 'web', { app: 'web' }, [{ port: 80 }], { clusterIP: '10.100.9.9' })])).message).toBe(
      'The Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.100.9.9"}: may not change once set',
    );
    expect(snapshot(c)).toEqual(before);
  });

  test('a LoadBalancer Service gets an ELB hostname that survives re-applying it', () => {
    const c = shop();
    c.apply([f.service('shop', 'front', { app: 'web' }, [{ port: 80 }], { type: 'LoadBalancer' })]);
    const hostname = c.service('shop', 'front')?.status?.loadBalancer?.ingress?.[0]?.hostname;
    expect(hostname).toMatch(/^a[0-9a-f]{32}-\d{10}\.us-east-1\.elb\.amazonaws\.com$/);
    c.apply([f.service('shop', 'front', { app: 'web' }, [{ port: 80 }], { type: 'LoadBalancer' })]);
    expect(c.service('shop', 'front')?.status?.loadBalancer?.ingress?.[0]?.hostname).toBe(hostname);
  });

  test('deleting a Service gives its ClusterIP and NodePorts back', () => {
    const c = shop();
    const web = c.service('shop', 'web')!;
    c.delete({ kind: 'Service', namespace: 'shop', name: 'web' });
    expect(c.allocatedClusterIPs()).not.toContain(web.spec.clusterIP);
    expect(c.allocatedNodePorts()).toEqual([]);
    expect(c.endpointSlices('shop')).toEqual([]);
    expect(thrown(() => c.delete({ kind: 'Service', namespace: 'shop', name: 'web' })).message).toBe('services "web" not found');
  });

  test('bad arguments are typed errors and change nothing', () => {
    const c = shop();
    const before = snapshot(c);
    expect(thrown(() => c.scale({ kind: 'Deployment', namespace: 'shop', name: 'web' }, -1)).code).toBe('E_WORKLOAD_INVALID');
    expect(thrown(() => c.advance(-5)).code).toBe('E_INVALID_DURATION');
    expect(thrown(() => c.delete({ kind: 'Namespace', name: 'kube-system' })).code).toBe('E_DELETE_FORBIDDEN');
    expect(thrown(() => c.apply([{ ...f.deployment('shop', 'bad', 1), spec: { ...f.deployment('shop', 'bad', 1).spec, selector: { matchLabels: { app: 'other' } } } }])).message).toBe(
      'The Deployment "bad" is invalid: spec.template.metadata.labels: Invalid value: {"app":"bad"}: `selector` does not match template `labels`',
    );
    expect(snapshot(c)).toEqual(before);
  });

  test('deleting a node moves its pods elsewhere and frees its name', () => {
    const c = shop();
    const victim = c.pods('shop')[0]!.spec.nodeName!;
    c.delete({ kind: 'Node', name: victim });
    expect(c.nodes()).toHaveLength(2);
    expect(c.pods('shop').filter((p) => p.status?.phase === 'Running')).toHaveLength(3);
    expect(c.pods().every((p) => p.spec.nodeName !== victim)).toBe(true);
  });

  test("applying the cluster's own objects changes nothing", () => {
    const c = shop();
    const before = snapshot(c);
    c.apply(c.objects());
    expect(snapshot(c)).toEqual(before);
  });

  test('cordoning a node (spec.unschedulable) keeps new pods off it', () => {
    const c = shop();
    const cordoned = c.nodes()[0]!;
    c.apply([{ ...cordoned, spec: { ...cordoned.spec, unschedulable: true } }]);
    expect(c.node(cordoned.metadata.name)?.spec?.unschedulable).toBe(true);
    const before = new Set(c.pods('shop').map((p) => p.metadata.name));
    c.scale({ kind: 'Deployment', namespace: 'shop', name: 'web' }, 9);
    const fresh = c.pods('shop').filter((p) => !before.has(p.metadata.name));
    expect(fresh).toHaveLength(6);
    expect(fresh.every((p) => p.spec.nodeName && p.spec.nodeName !== cordoned.metadata.name)).toBe(true);
  });

  test('a clone is independent of its original', () => {
    const c = shop();
    const copy = c.clone();
    copy.scale({ kind: 'Deployment', namespace: 'shop', name: 'web' }, 6);
    expect(c.pods('shop')).toHaveLength(3);
    expect(copy.pods('shop')).toHaveLength(6);
  });
});

describe('NodePorts given in input files', () => {
  const np = (name: string, protocol: 'TCP' | 'UDP', nodePort: number, clusterIP?: string) =>
    f.service('default', name, { app: name }, [{ port: 80, protocol, nodePort }], { type: 'NodePort', ...(clusterIP ? { clusterIP } : {}) });

  test('a requested NodePort is unique cluster-wide whatever the protocol, as the API server allocates it', () => {
    const e = thrown(() => buildCluster(f.input({ services: [np('a', 'TCP', 30080), np('b', 'UDP', 30080)] })));
    expect(e.code).toBe('E_NODE_PORT_ALLOCATED');
    expect(e.message).toBe('The Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated');
  });

  test('a requested NodePort outside the range is rejected; a dumped one (ClusterIP set) is kept as observed', () => {
    expect(thrown(() => buildCluster(f.input({ services: [np('a', 'TCP', 40000)] }))).code).toBe('E_NODE_PORT_NOT_IN_RANGE');
    const c = buildCluster(f.input({ services: [np('a', 'TCP', 40000, '10.100.7.7'), np('b', 'UDP', 40000, '10.100.7.8')] }));
    expect(c.services().filter((s) => s.metadata.name !== 'kubernetes').map((s) => s.spec.ports?.[0]?.nodePort)).toEqual([40000, 40000]);
  });

  test('a request never takes a NodePort that a dumped Service holds, whatever their order in the file', () => {
    const e = thrown(() => buildCluster(f.input({ services: [np('new', 'TCP', 30100), np('old', 'TCP', 30100, '10.100.7.7')] })));
    expect(e.message).toContain('The Service "new" is invalid');
  });
});
