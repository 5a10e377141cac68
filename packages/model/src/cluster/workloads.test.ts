import { describe, expect, test } from 'vitest';
import { buildCluster } from './build-cluster.js';
import { NAME_ALPHABET, podTemplateHash, safeEncodeString } from './names.js';
import { rollingUpdateBounds } from './workloads.js';
import * as f from './testing/fixtures.js';

const nodes = (n: number) => Array.from({ length: n }, (_, i) => f.node(`node-${i + 1}`, `10.0.0.${i + 11}`, { podCIDR: `10.244.${i}.0/24` }));
const alphabet = `[${NAME_ALPHABET}]`;

describe('workload controllers', () => {
  test('Deployment → ReplicaSet <name>-<pod-template-hash> → pods <rs>-<5 chars>', () => {
    const d = f.deployment('shop', 'web', 3);
    const c = buildCluster(f.input({ nodes: nodes(2), namespaces: [f.namespace('shop')], deployments: [d] }));
    const [rs] = c.replicaSets('shop');
    const hash = podTemplateHash(d.spec.template);
    expect(hash).toMatch(new RegExp(`^${alphabet}{1,10}$`));
    expect(rs?.metadata.name).toBe(`web-${hash}`);
    expect(rs?.metadata.labels?.['pod-template-hash']).toBe(hash);
    expect(rs?.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    const pods = c.pods('shop');
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-${alphabet}{5}$`));
      expect(p.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', name: `web-${hash}`, controller: true });
      expect(p.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    }
  });

  test('SafeEncodeString maps each digit through the alphabet, as apimachinery does', () => {
    // '0' is code 48 → 48 % 27 = 21 → '4'; '9' is 57 → 3 → 'f'.
    expect(safeEncodeString('0')).toBe('4');
    expect(safeEncodeString('9')).toBe('f');
    // Byte by byte, in order: '1' 49 → 22 → '5', '5' 53 → 26 → '9', '6' 54 → 0 → 'b', '8' 56 → 2 → 'd'.
    expect(safeEncodeString('1234567890')).toBe('56789bcdf4');
  });

  test('the same input and seed build the same cluster; another seed picks other names and IPs', () => {
    const build = (seed: number) =>
      buildCluster(f.input({ nodes: nodes(2), deployments: [f.deployment('default', 'web', 3)], services: [f.service('default', 'web', { app: 'web' })] }), { seed });
    expect(build(42).objects()).toEqual(build(42).objects());
    const names = (seed: number) => build(seed).pods().map((p) => p.metadata.name).join();
    expect(names(42)).not.toEqual(names(43));
  });

  test('StatefulSet pods are <name>-0..n-1 with hostname and subdomain', () => {
    const c = buildCluster(f.input({ nodes: nodes(2), statefulSets: [f.statefulSet('default', 'redis', 3, 'redis')] }));
    expect(c.pods().map((p) => [p.metadata.name, p.spec.hostname, p.spec.subdomain])).toEqual([
      ['redis-0', 'redis-0', 'redis'],
      ['redis-1', 'redis-1', 'redis'],
      ['redis-2', 'redis-2', 'redis'],
    ]);
    // OrderedReady: the highest ordinal goes first, the next only once it is gone.
    c.scale({ kind: 'StatefulSet', namespace: 'default', name: 'redis' }, 1);
    const state = () => c.pods().map((p) => `${p.metadata.name}${p.metadata.deletionTimestamp ? ' (terminating)' : ''}`);
    expect(state()).toEqual(['redis-0', 'redis-1', 'redis-2 (terminating)']);
    c.advance(30);
    expect(state()).toEqual(['redis-0', 'redis-1 (terminating)']);
    c.advance(30);
    expect(state()).toEqual(['redis-0']);
  });

  test('OrderedReady waits for each ordinal to be Ready; Parallel does not', () => {
    const ns = nodes(1);
    ns[0]!.status!.capacity = { pods: '2' };
    const ordered = buildCluster(f.input({ nodes: structuredClone(ns), statefulSets: [f.statefulSet('default', 'redis', 4, 'redis')] }));
    // redis-0 and redis-1 fill the node; redis-2 stays Pending, so redis-3 is never created.
    expect(ordered.pods().map((p) => [p.metadata.name, p.status?.phase])).toEqual([
      ['redis-0', 'Running'],
      ['redis-1', 'Running'],
      ['redis-2', 'Pending'],
    ]);
    const sts = f.statefulSet('default', 'redis', 4, 'redis');
    sts.spec.podManagementPolicy = 'Parallel';
    const parallel = buildCluster(f.input({ nodes: structuredClone(ns), statefulSets: [sts] }));
    expect(parallel.pods().map((p) => p.metadata.name)).toEqual(['redis-0', 'redis-1', 'redis-2', 'redis-3']);
    parallel.scale({ kind: 'StatefulSet', namespace: 'default', name: 'redis' }, 1);
    expect(parallel.pods().filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name)).toEqual(['redis-0']);
  });

  test('DaemonSet: one pod per eligible node; a tainted node is skipped unless tolerated', () => {
    const ns = nodes(3);
    ns[2]!.spec!.taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
    const c = buildCluster(
      f.input({
        nodes: ns,
        daemonSets: [f.daemonSet('kube-system', 'node-exporter'), f.daemonSet('kube-system', 'aws-node', { tolerations: [{ operator: 'Exists' }], hostNetwork: true })],
      }),
    );
    const on = (ds: string) => c.pods('kube-system').filter((p) => p.metadata.name.startsWith(`${ds}-`)).map((p) => p.spec.nodeName).sort();
    expect(on('node-exporter')).toEqual(['node-1', 'node-2']);
    expect(on('aws-node')).toEqual(['node-1', 'node-2', 'node-3']);
    for (const p of c.pods('kube-system')) expect(p.metadata.name).toMatch(new RegExp(`^(node-exporter|aws-node)-${alphabet}{5}$`));
  });

  test('a DaemonSet pod for a full node stays Pending with the scheduler message naming the other nodes', () => {
    const ns = nodes(2);
    ns[1]!.status!.capacity = { pods: '1' };
    const c = buildCluster(f.input({ nodes: ns, pods: [f.pod('default', 'filler', {}, { nodeName: 'node-2' })], daemonSets: [f.daemonSet('kube-system', 'agent')] }));
    const pending = c.pods('kube-system').filter((p) => !p.spec.nodeName);
    expect(pending).toHaveLength(1);
    expect(pending[0]!.status?.conditions?.[0]?.message).toBe(
      "0/2 nodes are available: 1 Too many pods, 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
    );
  });

  test('scaling a Deployment down deletes the newest pods first and they terminate for 30 s', () => {
    const c = buildCluster(f.input({ nodes: nodes(2), deployments: [f.deployment('default', 'web', 4)] }));
    c.scale({ kind: 'Deployment', namespace: 'default', name: 'web' }, 2);
    const terminating = c.pods().filter((p) => p.metadata.deletionTimestamp);
    expect(terminating).toHaveLength(2);
    expect(terminating.every((p) => p.status?.podIP)).toBe(true);
    c.advance(25);
    expect(c.pods()).toHaveLength(4);
    c.advance(5);
    expect(c.pods()).toHaveLength(2);
  });

  test('a deleted pod of a ReplicaSet is replaced at once; the old one keeps terminating', () => {
    const c = buildCluster(f.input({ nodes: nodes(1), deployments: [f.deployment('default', 'web', 1)] }));
    const [old] = c.pods();
    c.delete({ kind: 'Pod', namespace: 'default', name: old!.metadata.name });
    const pods = c.pods();
    expect(pods).toHaveLength(2);
    const fresh = pods.find((p) => p.metadata.name !== old!.metadata.name)!;
    expect(fresh.status?.phase).toBe('Running');
    expect(fresh.status?.podIP).not.toBe(old!.status?.podIP);
  });

  test('a changed template rolls to a new ReplicaSet and the old one scales to 0', () => {
    const d = f.deployment('default', 'web', 2);
    const c = buildCluster(f.input({ nodes: nodes(2), deployments: [d] }));
    const first = c.replicaSets()[0]!.metadata.name;
    const next = structuredClone(d);
    next.spec.template.spec.containers[0]!.image = 'app:v2';
    c.apply([next]);
    const byName = new Map(c.replicaSets().map((rs) => [rs.metadata.name, rs.spec.replicas]));
    expect(byName.get(first)).toBe(0);
    expect([...byName.values()].sort()).toEqual([0, 2]);
    expect(c.pods().filter((p) => !p.metadata.deletionTimestamp).every((p) => !p.metadata.name.startsWith(`${first}-`))).toBe(true);
  });

  test('a rolling update on a full node keeps 3 of 4 pods available and steps through as old pods go', () => {
    const full = nodes(1);
    full[0]!.status!.capacity = { pods: '4' };
    const d = f.deployment('default', 'web', 4);
    const c = buildCluster(f.input({ nodes: full, deployments: [d] }));
    const old = c.replicaSets()[0]!.metadata.name;
    const next = structuredClone(d);
    next.spec.template.spec.containers[0]!.image = 'app:v2';
    c.apply([next]);
    const scaling = c.events('Deployment default/web').filter((e) => e.reason === 'ScalingReplicaSet').map((e) => e.message);
    expect(scaling).toContain(`Scaled down replica set ${old} to 3 from 4`);
    expect(scaling).not.toContain(`Scaled down replica set ${old} to 0 from 4`);
    // Each step waits for an old pod's 30 s grace period to free a slot.
    expect(c.now).toBeGreaterThanOrEqual(90);
    const byRS = Object.fromEntries(c.replicaSets().map((rs) => [rs.metadata.name, rs.spec.replicas]));
    expect(byRS[old]).toBe(0);
    const running = c.pods().filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
    expect(running).toHaveLength(4);
    expect(running.every((p) => !p.metadata.name.startsWith(`${old}-`))).toBe(true);
  });

  test('maxSurge and maxUnavailable: counts or percentages, surge rounded up and unavailability down', () => {
    const d = (replicas: number, maxSurge?: number | string, maxUnavailable?: number | string) => {
      const x = f.deployment('default', 'web', replicas);
      x.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { ...(maxSurge !== undefined ? { maxSurge } : {}), ...(maxUnavailable !== undefined ? { maxUnavailable } : {}) } };
      return x;
    };
    expect(rollingUpdateBounds(d(10))).toEqual({ maxSurge: 3, maxUnavailable: 2 });
    expect(rollingUpdateBounds(d(1))).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(rollingUpdateBounds(d(4, 0, 0))).toEqual({ maxSurge: 0, maxUnavailable: 1 });
    expect(rollingUpdateBounds(d(5, '50%', 2))).toEqual({ maxSurge: 3, maxUnavailable: 2 });
    const c = buildCluster(f.input({ nodes: nodes(1) }));
    expect(() => c.apply([d(2, 'lots')])).toThrow('spec.strategy.rollingUpdate.maxSurge: Invalid value: "lots"');
  });

  test('Recreate: the old pods go first, the new ones start once they are gone', () => {
    const d = f.deployment('default', 'web', 2);
    d.spec.strategy = { type: 'Recreate' };
    const c = buildCluster(f.input({ nodes: nodes(1), deployments: [d] }));
    const next = structuredClone(d);
    next.spec.template.spec.containers[0]!.image = 'app:v2';
    c.apply([next]);
    expect(c.pods().every((p) => p.metadata.deletionTimestamp)).toBe(true);
    c.advance(30);
    const pods = c.pods();
    expect(pods).toHaveLength(2);
    expect(pods.every((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp)).toBe(true);
  });

  test('observed pods of a dump are adopted, not duplicated', () => {
    const d = f.deployment('default', 'web', 2);
    const first = buildCluster(f.input({ nodes: nodes(1), deployments: [d] }));
    const dumped = first.objects();
    const again = buildCluster(f.input({
      nodes: dumped.filter((o) => o.kind === 'Node') as never,
      deployments: [d],
      replicaSets: dumped.filter((o) => o.kind === 'ReplicaSet') as never,
      pods: dumped.filter((o) => o.kind === 'Pod') as never,
    }));
    expect(again.pods().map((p) => [p.metadata.name, p.status?.podIP])).toEqual(first.pods().map((p) => [p.metadata.name, p.status?.podIP]));
  });
});
