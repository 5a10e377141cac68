import { describe, expect, test } from 'vitest';
import { HostLocalIPAM } from './host-local-ipam.js';

describe('HostLocalIPAM (kubenet-style)', () => {
  test('each node gets the next /24 of the cluster CIDR; pods start at .2 (the bridge has .1)', () => {
    const ipam = new HostLocalIPAM({ clusterCIDR: '10.244.0.0/16', subnets: [{ cidr: '192.168.0.0/19', zone: 'a' }] });
    const a = ipam.addNode({ nodeName: (ip) => `ip-${ip.replace(/\./g, '-')}`, zone: 'a' });
    const b = ipam.addNode({ nodeName: 'b', internalIP: '192.168.7.7' });
    expect(a).toEqual({ nodeName: 'ip-192-168-0-4', internalIP: '192.168.0.4', localAddresses: ['192.168.0.4', '10.244.0.1'], defaultMaxPods: 110, podCIDR: '10.244.0.0/24' });
    expect(b.podCIDR).toBe('10.244.1.0/24');
    expect(ipam.assignPodIP('b', 'ns/p1')).toEqual({ ok: true, ip: '10.244.1.2' });
    expect(ipam.assignPodIP('b', 'ns/p1')).toEqual({ ok: true, ip: '10.244.1.2' });
    expect(ipam.assignPodIP('b', 'ns/p2')).toEqual({ ok: true, ip: '10.244.1.3' });
  });

  test('a released IP is reused only after the range wraps, and a full range fails with the plugin message', () => {
    const ipam = new HostLocalIPAM({ nodeCIDRMaskSize: 29 });
    ipam.addNode({ nodeName: 'n', internalIP: '10.0.0.5' });
    // A /29 has .2-.6 for pods (network .0, gateway .1, broadcast .7).
    const ips = ['a', 'b', 'c'].map((p) => (ipam.assignPodIP('n', p) as { ip: string }).ip);
    expect(ips).toEqual(['10.244.0.2', '10.244.0.3', '10.244.0.4']);
    ipam.releasePodIP('n', 'a');
    expect(ipam.assignPodIP('n', 'd')).toEqual({ ok: true, ip: '10.244.0.5' });
    expect(ipam.assignPodIP('n', 'e')).toEqual({ ok: true, ip: '10.244.0.6' });
    expect(ipam.assignPodIP('n', 'f')).toEqual({ ok: true, ip: '10.244.0.2' });
    const full = ipam.assignPodIP('n', 'g');
    expect(full).toMatchObject({ ok: false, reason: 'FailedCreatePodSandBox' });
    expect((full as { message: string }).message).toMatch(
      /^Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "[0-9a-f]{64}": plugin type="host-local" failed \(add\): failed to allocate for range 0: no IP addresses available in range set: 10\.244\.0\.1-10\.244\.0\.6$/,
    );
  });

  test('clone is independent', () => {
    const ipam = new HostLocalIPAM();
    ipam.addNode({ nodeName: 'n', internalIP: '10.0.0.5' });
    const copy = ipam.clone();
    copy.assignPodIP('n', 'x');
    expect(ipam.assignPodIP('n', 'y')).toEqual({ ok: true, ip: '10.244.0.2' });
  });

  test('overlapping node ranges and a reused node IP are refused', () => {
    const ipam = new HostLocalIPAM();
    ipam.addNode({ nodeName: 'a', internalIP: '10.0.0.5', podCIDR: '10.244.0.0/22' });
    expect(() => ipam.addNode({ nodeName: 'b', internalIP: '10.0.0.6', podCIDR: '10.244.1.0/24' })).toThrow('overlaps 10.244.0.0/22 of Node a');
    expect(() => ipam.addNode({ nodeName: 'c', internalIP: '10.0.0.5' })).toThrow("already another node's");
  });
});
