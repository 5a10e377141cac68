import { describe, expect, test } from 'vitest';
import { buildCluster } from './build-cluster.js';
import * as f from './testing/fixtures.js';

// Scheduling through a real cluster of kubenet-style nodes, checked against the messages kube-scheduler prints.

const nodes = (n: number, pods = 110) => Array.from({ length: n }, (_, i) => f.node(`node-${i + 1}`, `10.0.0.${i + 11}`, { podCIDR: `10.244.${i}.0/24`, pods }));

function unscheduled(cluster: ReturnType<typeof buildCluster>): string[] {
  return cluster
    .pods()
    .filter((p) => !p.spec.nodeName)
    .map((p) => p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message ?? '');
}

describe('scheduler', () => {
  test('a full cluster: "Too many pods", with the preemption suffix', () => {
    const c = buildCluster(f.input({ nodes: nodes(3, 2), deployments: [f.deployment('default', 'web', 7)] }));
    expect(c.pods().filter((p) => p.status?.phase === 'Running')).toHaveLength(6);
    expect(unscheduled(c)).toEqual(['0/3 nodes are available: 3 Too many pods. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.']);
    const pending = c.pods().find((p) => !p.spec.nodeName)!;
    expect(c.events(`Pod default/${pending.metadata.name}`).map((e) => e.reason)).toEqual(['FailedScheduling']);
  });

  test('reasons are counted per node and sorted as text', () => {
    const ns = nodes(5, 1);
    ns[0]!.metadata.labels!['disk'] = 'ssd';
    ns[1]!.metadata.labels!['disk'] = 'ssd';
    ns[2]!.spec!.taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
    const c = buildCluster(f.input({ nodes: ns, pods: [f.pod('default', 'a', {}, { nodeSelector: { disk: 'ssd' } }), f.pod('default', 'b', {}, { nodeSelector: { disk: 'ssd' } }), f.pod('default', 'c', {}, { nodeSelector: { disk: 'ssd' } })] }));
    expect(c.pod('default', 'c')?.status?.conditions?.[0]?.message).toBe(
      "0/5 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Too many pods, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling.",
    );
  });

  test('a toleration lets a pod onto a tainted node; PreferNoSchedule never blocks', () => {
    const ns = nodes(2);
    ns[0]!.spec!.taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
    ns[1]!.spec!.taints = [{ key: 'spot', effect: 'PreferNoSchedule' }];
    const c = buildCluster(
      f.input({
        nodes: ns,
        pods: [
          f.pod('default', 'gpu', {}, { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }], nodeSelector: { 'kubernetes.io/hostname': 'node-1' } }),
          f.pod('default', 'any', {}, { nodeSelector: { 'kubernetes.io/hostname': 'node-2' } }),
        ],
      }),
    );
    expect(c.pod('default', 'gpu')?.spec.nodeName).toBe('node-1');
    expect(c.pod('default', 'any')?.spec.nodeName).toBe('node-2');
  });

  test('a NoExecute taint evicts the pods that do not tolerate it; their Deployment moves them', () => {
    const c = buildCluster(
      f.input({
        nodes: nodes(2),
        deployments: [f.deployment('default', 'web', 4)],
        daemonSets: [f.daemonSet('kube-system', 'agent', { tolerations: [{ operator: 'Exists' }] })],
      }),
    );
    const node1 = c.node('node-1')!;
    c.apply([{ ...node1, spec: { ...node1.spec, taints: [{ key: 'maintenance', effect: 'NoExecute' }] } }]);
    const live = c.pods().filter((p) => !p.metadata.deletionTimestamp);
    expect(live.filter((p) => p.metadata.name.startsWith('web-')).every((p) => p.spec.nodeName === 'node-2')).toBe(true);
    expect(live.filter((p) => p.metadata.name.startsWith('web-'))).toHaveLength(4);
    // The DaemonSet pod tolerates everything and stays.
    expect(live.filter((p) => p.metadata.name.startsWith('agent-')).map((p) => p.spec.nodeName).sort()).toEqual(['node-1', 'node-2']);
    expect(c.events().some((e) => e.reason === 'TaintManagerEviction')).toBe(true);
  });

  test('a second pod wanting the same hostPort on a node stays Pending', () => {
    const hostPortPod = (name: string, protocol: 'TCP' | 'UDP') => f.pod('default', name, {}, { containers: [f.container('agent', [{ port: 8125, hostPort: 8125, protocol }])] });
    const c = buildCluster(f.input({ nodes: nodes(1), pods: [hostPortPod('a', 'UDP'), hostPortPod('b', 'UDP'), hostPortPod('c', 'TCP')] }));
    expect(c.pod('default', 'a')?.status?.phase).toBe('Running');
    expect(c.pod('default', 'c')?.status?.phase).toBe('Running'); // other protocol: no conflict
    expect(c.pod('default', 'b')?.status?.conditions?.[0]?.message).toBe(
      "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
    );
  });

  test('hostNetwork pods occupy their container ports as host ports', () => {
    const hn = (name: string) => f.pod('default', name, {}, { hostNetwork: true, containers: [f.container('exporter', [{ port: 9100 }])] });
    const c = buildCluster(f.input({ nodes: nodes(2), pods: [hn('a'), hn('b'), hn('c')] }));
    const placed = c.pods().filter((p) => p.spec.nodeName);
    expect(placed.map((p) => p.spec.nodeName).sort()).toEqual(['node-1', 'node-2']);
    for (const p of placed) expect(p.status?.podIP).toBe(c.nodeNetwork(p.spec.nodeName!)?.internalIP);
    expect(unscheduled(c)[0]).toContain("2 node(s) didn't have free ports for the requested pod ports");
  });

  test('pods spread: each node gets its share, ties by node name', () => {
    const c = buildCluster(f.input({ nodes: nodes(3), deployments: [f.deployment('default', 'web', 7)] }));
    const per = new Map<string, number>();
    for (const p of c.pods()) per.set(p.spec.nodeName!, (per.get(p.spec.nodeName!) ?? 0) + 1);
    expect(Object.fromEntries(per)).toEqual({ 'node-1': 3, 'node-2': 2, 'node-3': 2 });
  });

  test('max pods: capacity.pods wins, then the node group maxPodsPerNode', () => {
    const c = buildCluster(f.input({ clusterConfig: f.clusterConfig({ nodes: 1, maxPodsPerNode: 4 }), deployments: [f.deployment('default', 'web', 6)] }));
    const [node] = c.nodes();
    expect(c.maxPods(node!.metadata.name)).toBe(4);
    expect(node!.status?.capacity?.pods).toBe('4');
    expect(c.pods().filter((p) => p.spec.nodeName)).toHaveLength(4);
  });

  test('pods bound with spec.nodeName skip the scheduler; the kubelet rejects the one that does not fit', () => {
    const pinned = (name: string) => f.pod('default', name, {}, { nodeName: 'node-1' });
    const c = buildCluster(f.input({ nodes: nodes(1, 2), pods: [pinned('a'), pinned('b'), pinned('c')] }));
    expect(c.pods().map((p) => [p.metadata.name, p.status?.phase])).toEqual([
      ['a', 'Running'],
      ['b', 'Running'],
      ['c', 'Failed'],
    ]);
    expect(c.pod('default', 'c')?.status).toMatchObject({ reason: 'OutOfpods', message: "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2" });
    expect(c.endpointSlices()).toEqual([]);
  });

  test('a ReplicaSet whose pods the kubelet rejects replaces them once a tick, not in a loop', () => {
    const c = buildCluster(f.input({ nodes: nodes(1, 1), deployments: [f.deployment('default', 'web', 2, { nodeName: 'node-1' })] }));
    const failed = () => c.pods().filter((p) => p.status?.reason === 'OutOfpods').length;
    const before = failed();
    expect(c.pods().filter((p) => p.status?.phase === 'Running')).toHaveLength(1);
    expect(before).toBeGreaterThanOrEqual(1);
    c.advance(10);
    expect(failed()).toBe(before + 2);
  });

  test('no nodes at all', () => {
    const c = buildCluster(f.input({ pods: [f.pod('default', 'lonely', {})] }));
    expect(unscheduled(c)).toEqual(['no nodes available to schedule pods']);
  });
});
