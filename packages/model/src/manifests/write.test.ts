import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Service } from '../api/core.js';
import { readManifests } from './read.js';
import { clusterInputObjects, writeManifests } from './write.js';

const shop = readFileSync(new URL('../../examples/shop.yaml', import.meta.url), 'utf8');

describe('writeManifests', () => {
  it('round-trips the example: read → write → read gives the same objects', () => {
    const first = readManifests([{ file: 'shop.yaml', text: shop }]);
    const text = writeManifests(first);
    const second = readManifests([{ file: 'out.yaml', text }]);
    expect(clusterInputObjects(second)).toEqual(clusterInputObjects(first));
    expect(second.awsNodeEnv).toEqual(first.awsNodeEnv);
    expect(text.startsWith('---\napiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n')).toBe(true);
    expect(text).not.toMatch(/[&*]\w+\s*$/m); // no anchors or aliases
  });

  it('writes configuration first and keeps the order within a kind', () => {
    const svc = (name: string): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'a' }, spec: { ports: [{ port: 80 }] } });
    const text = writeManifests([svc('z'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }, svc('b')]);
    expect([...text.matchAll(/^ {2}name: (\w+)$/gm)].map((m) => m[1])).toEqual(['a', 'z', 'b']);
  });

  it('accepts anything with objects(), as a Cluster has', () => {
    const text = writeManifests({ objects: () => [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }] });
    expect(text).toBe('---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n');
  });

  it('round-trips any valid Service, observed ClusterIP and NodePorts included', () => {
    const port = fc.record({
      port: fc.integer({ min: 1, max: 65535 }),
      protocol: fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const),
      targetPort: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom('http', 'metrics', 'dns-tcp')),
      nodePort: fc.integer({ min: 1, max: 65535 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(port, { minLength: 1, maxLength: 5, selector: (p) => `${p.port}/${p.protocol}` }), fc.ipV4(), (ports, ip) => {
        const service: Service = {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace: 'shop', labels: { 'app.kubernetes.io/name': 'web' } },
          spec: { type: 'NodePort', clusterIP: ip, clusterIPs: [ip], ports: ports.map((p, i) => ({ name: `p${i}`, ...p })), selector: { app: 'web' } },
        };
        const back = readManifests([{ file: 'x.yaml', text: writeManifests([service]) }]);
        expect(back.services).toEqual([service]);
      }),
    );
  });
});
