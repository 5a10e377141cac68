import { describe, expect, test } from 'vitest';
import type { Endpoint } from '../api/index.js';
import { buildCluster } from './build-cluster.js';
import { MANAGED_BY_CONTROLLER } from './endpoint-slices.js';
import * as f from './testing/fixtures.js';

const nodes = (n: number, pods = 110) =>
  Array.from({ length: n }, (_, i) => f.node(`node-${i + 1}`, `10.0.0.${i + 11}`, { podCIDR: `10.244.${i * 4}.0/22`, pods, labels: { 'topology.kubernetes.io/zone': `zone-${(i % 2) + 1}` } }));

const addresses = (eps: Endpoint[]) => eps.map((e) => e.addresses[0]).sort();

describe('EndpointSlice controller', () => {
  test('a slice per Service with every matching pod, labelled and owned like the real ones', () => {
    const c = buildCluster(f.input({ nodes: nodes(2), deployments: [f.deployment('default', 'web', 3)], services: [f.service('default', 'web', { app: 'web' }, [{ name: 'http', port: 80, targetPort: 8080 }])] }));
    const slices = c.endpointSlices('default', 'web');
    expect(slices).toHaveLength(1);
    const [s] = slices;
    expect(s!.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(s!.metadata.labels).toEqual({ 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': MANAGED_BY_CONTROLLER });
    expect(s!.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Service', name: 'web', controller: true });
    expect(s!.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(addresses(s!.endpoints)).toEqual(c.pods().map((p) => p.status!.podIP).sort());
    for (const e of s!.endpoints) {
      const pod = c.pods().find((p) => p.status?.podIP === e.addresses[0])!;
      expect(e).toMatchObject({
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: pod.spec.nodeName,
        zone: c.node(pod.spec.nodeName!)!.metadata.labels!['topology.kubernetes.io/zone'],
        targetRef: { kind: 'Pod', namespace: 'default', name: pod.metadata.name, uid: pod.metadata.uid },
      });
    }
  });

  test('more than 100 endpoints spread over slices of at most 100', () => {
    const c = buildCluster(f.input({ nodes: nodes(3), deployments: [f.deployment('default', 'web', 250)], services: [f.service('default', 'web', { app: 'web' })] }));
    const sizes = c.endpointSlices('default', 'web').map((s) => s.endpoints.length).sort((a, b) => b - a);
    expect(sizes).toEqual([100, 100, 50]);
    const all = c.endpointSlices('default', 'web').flatMap((s) => s.endpoints);
    expect(new Set(all.map((e) => e.addresses[0])).size).toBe(250);
  });

  test('a named targetPort resolves per pod; pods without it land in a slice without that port', () => {
    const v1 = f.deployment('default', 'api-v1', 1, { containers: [f.container('api', [{ name: 'http', port: 8080 }])] }, { app: 'api', v: '1' });
    const v2 = f.deployment('default', 'api-v2', 1, { containers: [f.container('api', [{ name: 'http', port: 9090 }])] }, { app: 'api', v: '2' });
    const legacy = f.deployment('default', 'api-legacy', 1, { containers: [f.container('api', [{ name: 'web', port: 80 }])] }, { app: 'api', v: '0' });
    const c = buildCluster(f.input({ nodes: nodes(1), deployments: [v1, v2, legacy], services: [f.service('default', 'api', { app: 'api' }, [{ name: 'http', port: 80, targetPort: 'http' }])] }));
    const slices = c.endpointSlices('default', 'api');
    const byPorts = new Map(slices.map((s) => [JSON.stringify(s.ports), s.endpoints.length]));
    expect(byPorts).toEqual(
      new Map([
        [JSON.stringify([{ name: 'http', port: 8080, protocol: 'TCP' }]), 1],
        [JSON.stringify([{ name: 'http', port: 9090, protocol: 'TCP' }]), 1],
        [JSON.stringify([]), 1],
      ]),
    );
  });

  test('terminating pods stay listed: serving, not ready, terminating', () => {
    const c = buildCluster(f.input({ nodes: nodes(1), deployments: [f.deployment('default', 'web', 2)], services: [f.service('default', 'web', { app: 'web' })] }));
    c.scale({ kind: 'Deployment', namespace: 'default', name: 'web' }, 1);
    const eps = c.endpointSlices('default', 'web').flatMap((s) => s.endpoints);
    const gone = c.pods().find((p) => p.metadata.deletionTimestamp)!;
    expect(eps.find((e) => e.targetRef?.name === gone.metadata.name)?.conditions).toEqual({ ready: false, serving: true, terminating: true });
    c.advance(30);
    expect(c.endpointSlices('default', 'web').flatMap((s) => s.endpoints)).toHaveLength(1);
  });

  test('publishNotReadyAddresses: pods waiting for an IP are absent; terminating ones are still ready', () => {
    const c = buildCluster(
      f.input({
        nodes: nodes(1),
        statefulSets: [f.statefulSet('default', 'redis', 2, 'redis')],
        services: [f.service('default', 'redis', { app: 'redis' }, [{ name: 'redis', port: 6379 }], { clusterIP: 'None', publishNotReadyAddresses: true })],
      }),
    );
    c.scale({ kind: 'StatefulSet', namespace: 'default', name: 'redis' }, 1);
    const eps = c.endpointSlices('default', 'redis').flatMap((s) => s.endpoints);
    expect(eps.map((e) => [e.hostname, e.conditions])).toEqual([
      ['redis-0', { ready: true, serving: true, terminating: false }],
      ['redis-1', { ready: true, serving: true, terminating: true }],
    ]);
    expect(c.endpointSlices('default', 'redis')[0]!.metadata.labels?.['service.kubernetes.io/headless']).toBe('');
  });

  test('a selector matching nothing keeps one empty slice; no selector, no managed slice', () => {
    const c = buildCluster(f.input({ nodes: nodes(1), services: [f.service('default', 'none', { app: 'nothing' }), f.service('default', 'external', undefined)] }));
    expect(c.endpointSlices('default', 'none').map((s) => s.endpoints)).toEqual([[]]);
    expect(c.endpointSlices('default', 'external')).toEqual([]);
  });

  test('given EndpointSlices replace the derived ones for their Service', () => {
    const given = {
      apiVersion: 'discovery.k8s.io/v1' as const,
      kind: 'EndpointSlice' as const,
      metadata: { name: 'web-abcde', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4' as const,
      endpoints: [{ addresses: ['10.9.9.9'] }],
      ports: [{ name: '', port: 8080, protocol: 'TCP' as const }],
    };
    const c = buildCluster(f.input({ nodes: nodes(1), deployments: [f.deployment('default', 'web', 2)], services: [f.service('default', 'web', { app: 'web' })], endpointSlices: [given] }));
    expect(c.endpointSlices('default', 'web').map((s) => s.metadata.name)).toEqual(['web-abcde']);
    expect(c.hasObservedEndpointSlices('default', 'web')).toBe(true);
    c.scale({ kind: 'Deployment', namespace: 'default', name: 'web' }, 3);
    expect(c.endpointSlices('default', 'web')[0]!.endpoints).toEqual([{ addresses: ['10.9.9.9'] }]);
  });

  test('slice names are kept while the pods change', () => {
    const c = buildCluster(f.input({ nodes: nodes(1), deployments: [f.deployment('default', 'web', 2)], services: [f.service('default', 'web', { app: 'web' })] }));
    const name = c.endpointSlices('default', 'web')[0]!.metadata.name;
    c.scale({ kind: 'Deployment', namespace: 'default', name: 'web' }, 5);
    expect(c.endpointSlices('default', 'web').map((s) => s.metadata.name)).toEqual([name]);
    expect(c.endpointSlices('default', 'web')[0]!.endpoints).toHaveLength(5);
  });
});
