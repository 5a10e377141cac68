import { describe, expect, it } from 'vitest';
import type { AwsNodeEnv, ClusterConfig, Pod } from '../api/index.js';
import { buildCluster } from '../cluster/build-cluster.js';
import type { Cluster } from '../cluster/cluster.js';
import { resolveClusterConfig } from '../cluster/eks-defaults.js';
import { input, pod } from '../cluster/testing/fixtures.js';
import { VpcCni } from './vpc-cni.js';

/**
 * Subnet exhaustion as a user meets it: pods stuck in ContainerCreating with the CNI's FailedCreatePodSandBox
 * event, and what frees them. Two t3.small nodes share one private /28 in us-west-2a (16 addresses, AWS keeps 5:
 * 11 for ENIs).
 */
function config(nodes: number, instanceType: string): ClusterConfig {
  return {
    apiVersion: 'eksctl.io/v1alpha5',
    kind: 'ClusterConfig',
    metadata: { name: 'tiny', region: 'us-west-2' },
    vpc: {
      cidr: '10.0.0.0/16',
      subnets: {
        private: {
          'us-west-2a': { id: 'subnet-a', cidr: '10.0.0.0/28', az: 'us-west-2a' },
          'us-west-2b': { id: 'subnet-b', cidr: '10.0.1.0/24', az: 'us-west-2b' },
        },
      },
    },
    nodeGroups: [{ name: 'ng', instanceType, desiredCapacity: nodes, privateNetworking: true, availabilityZones: ['us-west-2a'] }],
  };
}

function build(nodes: number, env: AwsNodeEnv = {}, instanceType = 't3.small'): { cluster: Cluster; cni: () => VpcCni } {
  const clusterConfig = config(nodes, instanceType);
  const resolved = resolveClusterConfig(clusterConfig);
  const ipam = new VpcCni({ vpcCIDRs: resolved.vpcCIDRs, subnets: resolved.subnets, env });
  const cluster = buildCluster(input({ clusterConfig, awsNodeEnv: env }), { ipam });
  // Each cluster change runs on a clone (transactions): always read the cluster's current CNI.
  return { cluster, cni: () => cluster.ipam as VpcCni };
}

function podOn(name: string, nodeName: string): Pod {
  return pod('default', name, { app: name }, { nodeName });
}

function subnetA(cni: VpcCni) {
  return cni.subnetStatus().find((s) => s.id === 'subnet-a')!;
}

function state(cluster: Cluster, name: string): string {
  const p = cluster.pod('default', name);
  if (!p) return 'gone';
  if (p.status?.phase === 'Running') return 'Running';
  return p.status?.reason ?? p.status?.phase ?? 'unknown';
}

/** The kubelet's FailedCreatePodSandBox event as users see it (issues #2892, #2842), sandbox id included. */
const EVENT =
  /^Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "[0-9a-f]{64}": plugin type="aws-cni" name="aws-cni" failed \(add\): add cmd: failed to assign an IP address to container$/;

describe('subnet exhaustion (WARM_ENI_TARGET=1, the default)', () => {
  it('the pod that finds no address stays ContainerCreating with the CNI event', () => {
    const { cluster, cni } = build(1);
    const [node] = cluster.nodes().map((n) => n.metadata.name);
    // The primary ENI holds the node IP + 3 secondaries; a second ENI needs 4 more: 8 of the 11 addresses.
    cluster.apply(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => podOn(n, node!)));
    cluster.advance(60);
    const states = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => state(cluster, n));
    expect(states.filter((s) => s === 'Running')).toHaveLength(6);
    expect(states.filter((s) => s === 'ContainerCreating')).toHaveLength(1);
    const stuck = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].find((n) => state(cluster, n) === 'ContainerCreating')!;
    const events = cluster.events(`Pod default/${stuck}`).filter((e) => e.reason === 'FailedCreatePodSandBox');
    expect(events.length).toBeGreaterThan(0);
    expect(events[0]!.type).toBe('Warning');
    expect(events[0]!.message).toMatch(EVENT);
    expect(cluster.pod('default', stuck)!.status!.message).toMatch(EVENT);
    // ipamd tried a third ENI and EC2 refused it.
    expect(cni().events(node).some((l) => l.reason === 'InsufficientFreeAddressesInSubnet')).toBe(true);
    expect(subnetA(cni()).free).toBe(3);
  });

  it('deleting a pod on the same node lets the stuck pod start once the address has cooled down 30 s', () => {
    const { cluster, cni } = build(1);
    const [node] = cluster.nodes().map((n) => n.metadata.name);
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    cluster.apply(names.map((n) => podOn(n, node!)));
    cluster.advance(60);
    const stuck = names.find((n) => state(cluster, n) === 'ContainerCreating')!;
    const victim = names.find((n) => state(cluster, n) === 'Running')!;
    const victimIP = cluster.pod('default', victim)!.status!.podIP;
    const deletedAt = cluster.now;
    // delete() settles: simulated time runs on while the stuck pod can still start.
    cluster.delete({ kind: 'Pod', namespace: 'default', name: victim }, { gracePeriodSeconds: 0 });
    expect(state(cluster, victim)).toBe('gone');
    expect(state(cluster, stuck)).toBe('Running');
    expect(cluster.pod('default', stuck)!.status!.podIP).toBe(victimIP);
    // The kubelet kept retrying: ipamd refused while the freed address cooled down, and only then.
    const refusals = cni().events(node).filter((l) => l.reason === 'NoAvailableIP' && l.time >= deletedAt).map((l) => l.time);
    expect(Math.max(...refusals)).toBeGreaterThanOrEqual(deletedAt + 25);
    expect(Math.max(...refusals)).toBeLessThan(deletedAt + 30);
  });

  it('deleting a pod on another node does not help: WARM_ENI mode keeps freed addresses on that node', () => {
    const { cluster, cni } = build(2);
    const [n1, n2] = cluster.nodes().map((n) => n.metadata.name);
    // Two nodes: 2 × (node IP + 3 secondaries) = 8 addresses; 3 left, too few for a 4-address ENI.
    cluster.apply([podOn('b1', n2!)]);
    cluster.apply(['a1', 'a2', 'a3', 'a4'].map((n) => podOn(n, n1!)));
    cluster.advance(30);
    expect(state(cluster, 'a4')).toBe('ContainerCreating');
    cluster.delete({ kind: 'Pod', namespace: 'default', name: 'b1' }, { gracePeriodSeconds: 0 });
    cluster.advance(600);
    expect(state(cluster, 'a4')).toBe('ContainerCreating');
    expect(cni().nodeStatus(n2!).totalIPs).toBe(3); // the address stayed on node 2 (warm)
    expect(subnetA(cni()).free).toBe(3);
  });
});

describe('subnet exhaustion with WARM_IP_TARGET=1', () => {
  it('deleting a pod on another node helps once that node returns the address and the 120 s pause is over', () => {
    // t3.medium: 5 secondary IPs per ENI, so the stuck node has room on an ENI for the address that comes back.
    const env = { WARM_IP_TARGET: '1' };
    const { cluster, cni } = build(2, env, 't3.medium');
    const [n1, n2] = cluster.nodes().map((n) => n.metadata.name);
    cluster.apply([podOn('b1', n2!)]);
    cluster.advance(30);
    // Node 2 holds 2 secondaries (1 pod + 1 warm), node 1 holds 1 warm; with the 2 node IPs: 5 of 11 in use.
    expect(subnetA(cni()).free).toBe(6);
    const names = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'];
    for (const n of names) {
      cluster.apply([podOn(n, n1!)]);
      cluster.advance(10);
    }
    expect(names.map((n) => state(cluster, n))).toEqual([...Array(6).fill('Running'), 'ContainerCreating']);
    expect(subnetA(cni()).free).toBe(0);
    const pausedAt = cni().events(n1).filter((l) => l.reason === 'InsufficientFreeAddressesInSubnet').at(-1)!.time;

    cluster.delete({ kind: 'Pod', namespace: 'default', name: 'b1' }, { gracePeriodSeconds: 0 });
    cluster.advance(300);
    expect(state(cluster, 'a7')).toBe('Running');
    // Node 2 was 1 over its warm target and gave an address back to EC2 (a cooling one may go too) …
    const returned = cni().events(n2).find((l) => l.reason === 'IPsReleased')!;
    expect(returned).toBeDefined();
    const returnedIP = returned.message.match(/(\d+\.\d+\.\d+\.\d+)\/32/)![1];
    // … which node 1 took only once its 120 s pause after the subnet error was over …
    const taken = cni().events(n1).find((l) => l.reason === 'IPsAssigned' && l.time > returned.time)!;
    expect(taken.time).toBeGreaterThanOrEqual(pausedAt + 120);
    expect(taken.message).toContain(`${returnedIP}/32`);
    // … while the kubelet's retries kept failing in between.
    expect(cni().events(n1).some((l) => l.reason === 'NoAvailableIP' && l.time > returned.time && l.time < taken.time)).toBe(true);
    expect(cluster.pod('default', 'a7')!.status!.podIP).toBe(returnedIP);
  });
});
