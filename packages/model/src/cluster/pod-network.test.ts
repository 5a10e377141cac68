import { describe, expect, test } from 'vitest';
import { buildCluster } from './build-cluster.js';
import { LISTENING_ASSUMPTION, hostNetworkConflicts, podLocalhost, podPortConflicts } from './pod-network.js';
import * as f from './testing/fixtures.js';

const nodes = [f.node('node-1', '10.0.0.11', { podCIDR: '10.244.0.0/24' })];

describe('inside a pod', () => {
  const sidecar = f.pod('default', 'app', {}, { containers: [f.container('web', [{ port: 8080 }]), f.container('proxy', [{ port: 15001 }, { port: 9901 }])] });

  test('localhost:port reaches the container declaring it, with the assumption stated', () => {
    expect(podLocalhost(sidecar, 15001)).toEqual({
      reachable: true,
      listener: { pod: 'Pod default/app', container: 'proxy', port: 15001, protocol: 'TCP' },
      assumption: LISTENING_ASSUMPTION,
    });
    expect(podLocalhost(sidecar, 8080)).toMatchObject({ reachable: true, listener: { container: 'web' } });
    expect(podLocalhost(sidecar, 8080, 'UDP')).toEqual({ reachable: false, reason: 'connection refused: no container in Pod default/app declares UDP port 8080' });
  });

  test('two containers on one port and protocol conflict; other protocols do not', () => {
    const clash = f.pod('default', 'clash', {}, { containers: [f.container('a', [{ port: 8080 }, { port: 53, protocol: 'UDP' }]), f.container('b', [{ port: 8080 }, { port: 53 }])] });
    expect(podPortConflicts(clash)).toEqual([
      {
        where: 'Pod default/clash',
        port: 8080,
        protocol: 'TCP',
        listeners: [
          { pod: 'Pod default/clash', container: 'a', port: 8080, protocol: 'TCP' },
          { pod: 'Pod default/clash', container: 'b', port: 8080, protocol: 'TCP' },
        ],
        message: 'listen tcp :8080: bind: address already in use',
      },
    ]);
    expect(podPortConflicts(sidecar)).toEqual([]);
  });
});

describe('host network', () => {
  test('a hostNetwork pod reaches other hostNetwork pods of its node on localhost', () => {
    const hn = (name: string, port: number) => f.pod('kube-system', name, {}, { hostNetwork: true, containers: [f.container(name, [{ port }])] });
    const c = buildCluster(f.input({ nodes, pods: [hn('kube-proxy', 10249), hn('aws-node', 61678)] }));
    expect(podLocalhost(c.pod('kube-system', 'aws-node')!, 10249, 'TCP', c)).toMatchObject({ reachable: true, listener: { pod: 'Pod kube-system/kube-proxy' } });
    expect(c.pod('kube-system', 'aws-node')!.status?.podIP).toBe('10.0.0.11');
  });

  test('hostNetwork pods bound to one node on one port are reported', () => {
    const pinned = (name: string) => f.pod('default', name, {}, { nodeName: 'node-1', hostNetwork: true, containers: [f.container('exporter', [{ port: 9100 }])] });
    const c = buildCluster(f.input({ nodes, pods: [pinned('a'), pinned('b')] }));
    const [conflict] = hostNetworkConflicts(c);
    expect(conflict).toMatchObject({ where: 'Node node-1', port: 9100, protocol: 'TCP', message: 'listen tcp :9100: bind: address already in use' });
    expect(conflict!.listeners.map((l) => l.pod)).toEqual(['Pod default/a', 'Pod default/b']);
  });

  test('scheduled pods never collide on host ports', () => {
    const hp = (name: string) => f.pod('default', name, {}, { containers: [f.container('c', [{ port: 80, hostPort: 8080 }])] });
    const c = buildCluster(f.input({ nodes, pods: [hp('a'), hp('b')] }));
    expect(hostNetworkConflicts(c)).toEqual([]);
    expect(c.pod('default', 'b')?.status?.phase).toBe('Pending');
  });
});
