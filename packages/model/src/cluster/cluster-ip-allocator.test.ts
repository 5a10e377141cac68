import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { ipv4ToInt } from '../ip/index.js';
import { ClusterIPAllocator } from './cluster-ip-allocator.js';
import { SeededRandom } from './random.js';
import { allocateService, defaultService } from './services.js';
import { NodePortAllocator } from './node-port-allocator.js';
import { service } from './testing/fixtures.js';
import { KubeNetsimError } from '../errors.js';

describe('ClusterIPAllocator (kube-apiserver bitmap + KEP-3070)', () => {
  test('static band sizes from the KEP: /24 → 16, /16 → 256, /12 → 256, /28 → 0', () => {
    expect(new ClusterIPAllocator('10.96.0.0/24').staticBand).toBe(16);
    expect(new ClusterIPAllocator('10.100.0.0/16').staticBand).toBe(256);
    expect(new ClusterIPAllocator('10.96.0.0/12').staticBand).toBe(256);
    expect(new ClusterIPAllocator('10.96.0.0/28').staticBand).toBe(0);
    // /20: 4096/16 = 256; /23: 512/16 = 32; /27: 32/16 = 2 → at least 16.
    expect(new ClusterIPAllocator('10.96.0.0/20').staticBand).toBe(256);
    expect(new ClusterIPAllocator('10.96.0.0/23').staticBand).toBe(32);
    expect(new ClusterIPAllocator('10.96.0.0/27').staticBand).toBe(16);
  });

  test('a /28 holds 14 addresses (network and broadcast never), then "range is full"', () => {
    const a = new ClusterIPAllocator('10.96.0.0/28');
    const random = new SeededRandom(7);
    const got = Array.from({ length: 14 }, () => a.allocateNext(random));
    expect(new Set(got).size).toBe(14);
    expect(got).not.toContain('10.96.0.0');
    expect(got).not.toContain('10.96.0.15');
    expect(() => a.allocateNext(random)).toThrow('range is full');
  });

  test('dynamic picks fill the upper band before touching the static band', () => {
    const a = new ClusterIPAllocator('10.96.0.0/24');
    const random = new SeededRandom(3);
    const first = Array.from({ length: 254 - 16 }, () => ipv4ToInt(a.allocateNext(random)) - ipv4ToInt('10.96.0.0'));
    expect(Math.min(...first)).toBe(17); // offsets 16.. → .17 ..
    expect(Math.max(...first)).toBe(254);
    const rest = Array.from({ length: 16 }, () => ipv4ToInt(a.allocateNext(random)) - ipv4ToInt('10.96.0.0'));
    expect(rest.sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  test('the first dynamic pick of a /12 lies above 10.96.1.0; kubernetes and kube-dns take the 1st and 10th', () => {
    const a = new ClusterIPAllocator('10.96.0.0/12');
    expect(a.indexedIP(1)).toBe('10.96.0.1');
    expect(a.indexedIP(10)).toBe('10.96.0.10');
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const ip = new ClusterIPAllocator('10.96.0.0/12').allocateNext(new SeededRandom(seed));
        return ipv4ToInt(ip) > ipv4ToInt('10.96.1.0') && ipv4ToInt(ip) < ipv4ToInt('10.111.255.255');
      }),
    );
  });

  test('requests: anywhere in range, each once; network, broadcast and outside are not in the valid range', () => {
    const a = new ClusterIPAllocator('10.100.0.0/16');
    a.allocate('10.100.0.10');
    a.allocate('10.100.200.7');
    expect(() => a.allocate('10.100.0.10')).toThrow('provided IP is already allocated');
    for (const ip of ['10.100.0.0', '10.100.255.255', '10.101.0.1']) {
      expect(() => a.allocate(ip)).toThrow(`the provided IP (${ip}) is not in the valid range. The range of valid IPs is 10.100.0.0/16`);
    }
    a.release('10.100.0.10');
    expect(() => a.allocate('10.100.0.10')).not.toThrow();
  });

  test('the service CIDR must be IPv4, at most a /12 and at least 8 addresses', () => {
    expect(() => new ClusterIPAllocator('10.0.0.0/11')).toThrow('the mask must be >= 12');
    expect(() => new ClusterIPAllocator('10.0.0.0/30')).toThrow('at least 8 addresses');
    expect(() => new ClusterIPAllocator('fd00::/112')).toThrow(KubeNetsimError);
  });

  test('a seed gives the same picks; the picks never repeat until the range is full', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 200 }), (seed, n) => {
        const pick = (): string[] => {
          const a = new ClusterIPAllocator('10.96.0.0/24');
          const r = new SeededRandom(seed);
          return Array.from({ length: n }, () => a.allocateNext(r));
        };
        const x = pick();
        expect(pick()).toEqual(x);
        expect(new Set(x).size).toBe(n);
      }),
      { numRuns: 50 },
    );
  });
});

describe('Service ClusterIP allocation in the API server\'s words', () => {
  const allocators = () => ({ clusterIPs: new ClusterIPAllocator('10.100.0.0/16'), nodePorts: new NodePortAllocator(), random: new SeededRandom(1) });

  test('a requested IP outside the range', () => {
    const svc = defaultService(service('shop', 'web', { app: 'web' }, undefined, { clusterIP: '1.1.1.1' }));
    expect(() => allocateService(svc, allocators(), 'request')).toThrow(
      'The Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"1.1.1.1"}: failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.100.0.0/16',
    );
  });

  test('a requested IP already taken', () => {
    const a = allocators();
    allocateService(defaultService(service('shop', 'a', { app: 'a' }, undefined, { clusterIP: '10.100.3.4' })), a, 'request');
    const err = (() => {
      try {
        allocateService(defaultService(service('shop', 'b', { app: 'b' }, undefined, { clusterIP: '10.100.3.4' })), a, 'request');
      } catch (e) {
        return e as KubeNetsimError;
      }
      return undefined;
    })();
    expect(err?.code).toBe('E_CLUSTER_IP_ALLOCATED');
    expect(err?.object).toBe('Service shop/b');
    expect(err?.message).toBe('The Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.100.3.4"}: failed to allocate IP 10.100.3.4: provided IP is already allocated');
  });

  test('a full range is an internal error', () => {
    const a = { clusterIPs: new ClusterIPAllocator('10.96.0.0/29'), nodePorts: new NodePortAllocator(), random: new SeededRandom(1) };
    for (let i = 0; i < 6; i++) allocateService(defaultService(service('d', `s${i}`, { app: 'x' })), a, 'request');
    expect(() => allocateService(defaultService(service('d', 'late', { app: 'x' })), a, 'request')).toThrow(
      'Internal error occurred: failed to allocate a serviceIP: range is full',
    );
  });

  test('an observed Service keeps an out-of-range ClusterIP without holding it', () => {
    const a = allocators();
    const svc = defaultService(service('shop', 'old', { app: 'x' }, undefined, { clusterIP: '172.20.4.5' }));
    allocateService(svc, a, 'observed');
    expect(svc.spec.clusterIP).toBe('172.20.4.5');
    expect(a.clusterIPs.allocated()).toEqual([]);
  });
});
