import { describe, expect, test } from 'vitest';
import { thrown } from '../../test/support/thrown.js';
import fc from 'fast-check';
import { ClusterIPAllocator } from './cluster-ip-allocator.js';
import { NodePortAllocator, parsePortRange } from './node-port-allocator.js';
import { SeededRandom } from './random.js';
import { allocateService, defaultService, releaseService, validateService } from './services.js';
import { service } from './testing/fixtures.js';

describe('NodePortAllocator (KEP-3668)', () => {
  test('the default range 30000-32767 keeps 30000-30085 as its static band', () => {
    const a = new NodePortAllocator();
    expect(a.rangeText).toBe('30000-32767');
    expect(a.staticBand).toBe(86);
    fc.assert(fc.property(fc.integer(), (seed) => new NodePortAllocator().allocateNext(new SeededRandom(seed)) >= 30086));
  });

  test('band sizes: 100 ports → 16, 10000 ports → 128 (the cap), 16 ports → none', () => {
    expect(new NodePortAllocator(parsePortRange('30000-30099')).staticBand).toBe(16);
    expect(new NodePortAllocator(parsePortRange('20000-29999')).staticBand).toBe(128);
    expect(new NodePortAllocator(parsePortRange('30000-30015')).staticBand).toBe(0);
  });

  test('the static band is used only when the rest is full', () => {
    const a = new NodePortAllocator(parsePortRange('30000-30099'));
    const r = new SeededRandom(5);
    const upper = Array.from({ length: 84 }, () => a.allocateNext(r));
    expect(Math.min(...upper)).toBe(30016);
    const lower = Array.from({ length: 16 }, () => a.allocateNext(r)).sort();
    expect(lower[0]).toBe(30000);
    expect(lower[15]).toBe(30015);
    expect(() => a.allocateNext(r)).toThrow('range is full');
  });

  test('parsePortRange rejects nonsense', () => {
    expect(() => parsePortRange('32767-30000')).toThrow('Expected a port range');
    expect(() => parsePortRange('abc')).toThrow('Expected a port range');
  });
});

describe('Service NodePorts', () => {
  const allocators = () => ({ clusterIPs: new ClusterIPAllocator('10.100.0.0/16'), nodePorts: new NodePortAllocator(), random: new SeededRandom(1) });

  test('ClusterIP Services get no NodePort; NodePort and LoadBalancer Services one per port', () => {
    const a = allocators();
    const plain = defaultService(service('d', 'plain', { app: 'x' }));
    allocateService(plain, a, 'request');
    expect(plain.spec.ports?.[0]?.nodePort).toBeUndefined();
    const np = defaultService(service('d', 'np', { app: 'x' }, [{ name: 'http', port: 80 }, { name: 'https', port: 443 }], { type: 'NodePort' }));
    allocateService(np, a, 'request');
    const ports = np.spec.ports!.map((p) => p.nodePort!);
    expect(new Set(ports).size).toBe(2);
    for (const p of ports) expect(p).toBeGreaterThanOrEqual(30086);
    expect(a.nodePorts.allocated().sort()).toEqual([...ports].sort());
  });

  test('TCP and UDP on the same port of one Service share one NodePort (DNS over both)', () => {
    const a = allocators();
    const svc = defaultService(service('d', 'dns', { app: 'x' }, [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }], { type: 'NodePort' }));
    allocateService(svc, a, 'request');
    expect(svc.spec.ports![0]!.nodePort).toBe(svc.spec.ports![1]!.nodePort);
    expect(a.nodePorts.allocated()).toHaveLength(1);
  });

  test('a later port with a requested number gives it to the earlier one with the same port', () => {
    const a = allocators();
    const svc = defaultService(service('d', 'dns', { app: 'x' }, [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP', nodePort: 30053 }], { type: 'NodePort' }));
    allocateService(svc, a, 'request');
    expect(svc.spec.ports!.map((p) => p.nodePort)).toEqual([30053, 30053]);
  });

  test('one number per cluster whatever the protocol', () => {
    const a = allocators();
    allocateService(defaultService(service('d', 'tcp', { app: 'x' }, [{ port: 80, nodePort: 30080 }], { type: 'NodePort' })), a, 'request');
    const udp = defaultService(service('d', 'udp', { app: 'x' }, [{ port: 80, protocol: 'UDP', nodePort: 30080 }], { type: 'NodePort' }));
    const err = thrown(() => allocateService(udp, a, 'request'));
    expect(err?.code).toBe('E_NODE_PORT_ALLOCATED');
    expect(err?.message).toBe('The Service "udp" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated');
  });

  test('a requested port outside the range', () => {
    const svc = defaultService(service('d', 'web', { app: 'x' }, [{ port: 80, nodePort: 8080 }], { type: 'NodePort' }));
    expect(thrown(() => allocateService(svc, allocators(), 'request'))?.message).toBe(
      'The Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767',
    );
  });

  test('an observed NodePort out of range is kept (check reports it), and not held', () => {
    const a = allocators();
    const svc = defaultService(service('d', 'web', { app: 'x' }, [{ port: 80, nodePort: 8080 }], { type: 'NodePort' }));
    allocateService(svc, a, 'observed');
    expect(svc.spec.ports![0]!.nodePort).toBe(8080);
    expect(a.nodePorts.allocated()).toEqual([]);
  });

  test('LoadBalancer with externalTrafficPolicy Local gets a healthCheckNodePort from the same range; release gives all back', () => {
    const a = allocators();
    const svc = defaultService(service('d', 'lb', { app: 'x' }, [{ port: 80 }], { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }));
    allocateService(svc, a, 'request');
    expect(svc.spec.healthCheckNodePort).toBeGreaterThanOrEqual(30000);
    expect(svc.spec.healthCheckNodePort).not.toBe(svc.spec.ports![0]!.nodePort);
    expect(a.nodePorts.allocated()).toHaveLength(2);
    releaseService(svc, a);
    expect(a.nodePorts.allocated()).toHaveLength(0);
    expect(a.clusterIPs.allocated()).toHaveLength(0);
  });

  test('validation: a nodePort on a ClusterIP Service, unnamed ports when there are two', () => {
    expect(() => validateService(defaultService(service('d', 'x', { app: 'x' }, [{ port: 80, nodePort: 30001 }])))).toThrow("spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'");
    expect(() => validateService(defaultService(service('d', 'x', { app: 'x' }, [{ port: 80 }, { port: 81 }])))).toThrow('spec.ports[0].name: Required value');
    expect(() => validateService(defaultService(service('d', 'x', { app: 'x' }, [{ port: 80 }], { type: 'NodePort', clusterIP: 'None' })))).toThrow(
      `spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for NodePort services`,
    );
  });
});
