import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../src/api/core.js';
import { resolveKubeProxyConfiguration } from '../../src/proxy/config.js';
import { buildIpvsState, ipvsNodePortAddresses } from '../../src/proxy/ipvs/build.js';
import { explainIpvs } from '../../src/proxy/ipvs/explain.js';
import { printIpsetSave, printIpvsadm, printIpvsIptablesRestore, printKubeIpvs0 } from '../../src/proxy/ipvs/print.js';
import { buildProxyServiceState } from '../../src/proxy/service-port.js';
import { makeService, makeSlice } from './fixtures.js';

const NODE = { name: 'test-node', ips: ['192.168.0.2', '192.168.1.2'] };
const base = { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'ipvs' } as const;

function state(services: Service[], slices: EndpointSlice[], extra: Partial<Parameters<typeof resolveKubeProxyConfiguration>[0] & object> = {}) {
  return buildIpvsState({
    state: buildProxyServiceState({ services, endpointSlices: slices, nodeName: NODE.name }),
    node: NODE,
    config: resolveKubeProxyConfiguration({ ...base, clusterCIDR: '10.0.0.0/8', ...extra }),
  });
}

const http = [{ name: 'p80', port: 80, protocol: 'TCP' as const }];
const web = makeService('ns1', 'web', { clusterIP: '172.30.0.41', ports: http });
const webEndpoints = makeSlice('ns1', 'web', [{ addresses: ['10.180.0.1'], nodeName: 'test-node' }, { addresses: ['10.180.2.1'], nodeName: 'node2' }], http);
const np = (policy: 'Cluster' | 'Local') =>
  makeService('ns2', 'np', { type: 'NodePort', externalTrafficPolicy: policy, clusterIP: '172.30.0.42', ports: [{ ...http[0]!, nodePort: 30080 }] });
const npEndpoints = (local: boolean) => makeSlice('ns2', 'np', [{ addresses: ['10.180.0.2'], nodeName: local ? 'test-node' : 'node2' }, { addresses: ['10.180.2.2'], nodeName: 'node2' }], http);

describe('ipvs mode rendering', () => {
  it('prints virtual servers and real servers in ipvsadm -Ln layout', () => {
    const s = state([web, makeService('ns1', 'sticky', { clusterIP: '172.30.0.43', sessionAffinity: 'ClientIP', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] })], [webEndpoints]);
    expect(printIpvsadm(s)).toBe(
      [
        'IP Virtual Server version 1.2.1 (size=4096)',
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
        'TCP  172.30.0.41:80 rr',
        '  -> 10.180.0.1:80                Masq    1      0          0         ',
        '  -> 10.180.2.1:80                Masq    1      0          0         ',
        'UDP  172.30.0.43:53 rr persistent 10800',
        '',
      ].join('\n'),
    );
  });

  it('lists virtual and real servers in ipvsadm\'s order (libipvs compares addresses by their signed 32-bit difference)', () => {
    const svc = makeService('ns1', 'dns', { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', nodePort: 30054 }] });
    const slice = makeSlice('ns1', 'dns', [{ addresses: ['10.180.0.9'] }, { addresses: ['10.180.0.10'] }], [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }]);
    const s = state([svc], [slice]);
    // TCP (6) before UDP (17); 192.168.x before 10.96.x, since 0xC0A80002 − 0x0A60000A is negative as an int.
    expect(printIpvsadm(s).split('\n').filter((l) => !l.startsWith('  ->') && /^(TCP|UDP)/.test(l))).toEqual([
      'TCP  192.168.0.2:30054 rr',
      'TCP  192.168.1.2:30054 rr',
      'TCP  10.96.0.10:53 rr',
      'UDP  192.168.0.2:30053 rr',
      'UDP  192.168.1.2:30053 rr',
      'UDP  10.96.0.10:53 rr',
    ]);
    // kube-proxy's endpoint order is by string (10.180.0.10 first); ipvsadm prints destinations by address.
    expect(s.virtualServers[0]!.realServers.map((r) => r.ip)).toEqual(['10.180.0.10', '10.180.0.9']);
    expect(printIpvsadm(s).split('\n').slice(4, 6).map((l) => l.trim().split(/\s+/)[1])).toEqual(['10.180.0.9:53', '10.180.0.10:53']);
  });

  it('binds ClusterIPs to kube-ipvs0 and creates NodePort virtual servers on every node address, not loopback', () => {
    const s = state([np('Cluster')], [npEndpoints(false)]);
    expect(s.boundAddresses).toEqual(['172.30.0.42']);
    expect(printKubeIpvs0(s, 'test-node')).toMatch(/^3: kube-ipvs0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN group default \n {4}link\/ether [0-9a-f:]{17} brd ff:ff:ff:ff:ff:ff\n {4}inet 172\.30\.0\.42\/32 scope global kube-ipvs0\n {7}valid_lft forever preferred_lft forever\n$/);
    expect(s.virtualServers.map((v) => `${v.address}:${v.port}`)).toEqual(['172.30.0.42:80', '192.168.0.2:30080', '192.168.1.2:30080']);
    expect(ipvsNodePortAddresses(NODE, ['192.168.1.0/24'])).toEqual(['192.168.1.2']);
    expect(ipvsNodePortAddresses(NODE, ['primary'])).toEqual(['192.168.0.2']);
  });

  it('fills the ipsets and writes the iptables rules of pkg/proxy/ipvs', () => {
    const s = state([web, np('Local')], [webEndpoints, npEndpoints(true)]);
    const sets = printIpsetSave(s);
    expect(sets).toContain('create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536\nadd KUBE-CLUSTER-IP 172.30.0.41,tcp:80\nadd KUBE-CLUSTER-IP 172.30.0.42,tcp:80\n');
    expect(sets).toContain('add KUBE-LOOP-BACK 10.180.0.1,tcp:80,10.180.0.1\n');
    expect(sets).toContain('create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\nadd KUBE-NODE-PORT-TCP 30080\n');
    expect(sets).toContain('add KUBE-NODE-PORT-LOCAL-TCP 30080\n');
    const restore = printIpvsIptablesRestore(s);
    expect(restore.split('\n')).toEqual(
      expect.arrayContaining([
        '*nat',
        ':KUBE-SERVICES - [0:0]',
        '-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN',
        '-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE',
        '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port with externalTrafficPolicy=local" -m set --match-set KUBE-NODE-PORT-LOCAL-TCP dst -j RETURN',
        '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ',
        '-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ',
        '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT',
        '-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT',
        '-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN',
        '-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000',
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
        '-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000',
        '*filter',
        '-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT',
      ]),
    );
    expect(restore.indexOf('*nat')).toBeLessThan(restore.indexOf('*filter'));
  });

  it('without a local-traffic detector (EKS) masquerades only node traffic whose source is a VIP', () => {
    const s = buildIpvsState({
      state: buildProxyServiceState({ services: [web], endpointSlices: [webEndpoints], nodeName: NODE.name }),
      node: NODE,
      config: resolveKubeProxyConfiguration(base),
    });
    expect(printIpvsIptablesRestore(s)).toContain('-m set --match-set KUBE-CLUSTER-IP src,dst -j KUBE-MARK-MASQ');
  });
});

describe('explainIpvs', () => {
  const ex = (s: ReturnType<typeof state>, from: string, to: string, port: number, opts = {}) =>
    explainIpvs(s, { from, to, port, protocol: 'TCP' }, NODE.ips, opts);

  it('balances ClusterIP traffic over all endpoints; masquerades sources outside the pod CIDR', () => {
    const s = state([web], [webEndpoints]);
    expect(ex(s, '10.0.0.5', '172.30.0.41', 80)).toMatchObject({ verdict: 'DNAT', possibleEndpoints: ['10.180.0.1:80', '10.180.2.1:80'], masquerade: false });
    expect(ex(s, '203.0.113.2', '172.30.0.41', 80)).toMatchObject({ verdict: 'DNAT', masquerade: true });
    expect(ex(s, '10.0.0.5', '172.30.0.41', 80).rules).toContain('TCP  172.30.0.41:80 rr');
  });

  it('hairpin: an endpoint reaching itself through the VIP is masqueraded by KUBE-LOOP-BACK', () => {
    const s = state([web], [webEndpoints]);
    expect(ex(s, '10.180.0.1', '172.30.0.41', 80, { forceEndpoint: '10.180.0.1:80' })).toMatchObject({ masquerade: true, possibleEndpoints: ['10.180.0.1:80'] });
    expect(ex(s, '10.180.0.1', '172.30.0.41', 80, { forceEndpoint: '10.180.2.1:80' })).toMatchObject({ masquerade: false });
  });

  it('rejects a ClusterIP port that is no virtual server (the VIP is local: KUBE-IPVS-FILTER)', () => {
    const e = ex(state([web], [webEndpoints]), '10.0.0.5', '172.30.0.41', 81);
    expect(e.verdict).toBe('REJECT');
    expect(e.rules.at(-1)).toBe('-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT');
  });

  it('answers ICMP unreachable (REJECT) for a virtual server without real servers', () => {
    expect(ex(state([web], []), '10.0.0.5', '172.30.0.41', 80)).toMatchObject({ verdict: 'REJECT', possibleEndpoints: [] });
  });

  it('NodePort: Cluster policy masquerades; Local keeps the source and uses local endpoints, else all (kubernetes#97081)', () => {
    expect(ex(state([np('Cluster')], [npEndpoints(true)]), '203.0.113.2', '192.168.1.2', 30080)).toMatchObject({
      verdict: 'DNAT',
      possibleEndpoints: ['10.180.0.2:80', '10.180.2.2:80'],
      masquerade: true,
    });
    expect(ex(state([np('Local')], [npEndpoints(true)]), '203.0.113.2', '192.168.0.2', 30080)).toMatchObject({ possibleEndpoints: ['10.180.0.2:80'], masquerade: false });
    // The fallback changes the real servers only: the NodePort stays in KUBE-NODE-PORT-LOCAL-TCP, so no masquerade.
    expect(ex(state([np('Local')], [npEndpoints(false)]), '203.0.113.2', '192.168.0.2', 30080)).toMatchObject({
      verdict: 'DNAT',
      possibleEndpoints: ['10.180.0.2:80', '10.180.2.2:80'],
      masquerade: false,
    });
  });

  it('external IPs: Cluster policy masquerades (KUBE-EXTERNAL-IP), Local keeps the source and uses local endpoints', () => {
    const ext = (policy: 'Cluster' | 'Local') =>
      makeService('ns4', 'ext', { type: 'NodePort', externalTrafficPolicy: policy, clusterIP: '172.30.0.45', externalIPs: ['192.168.99.7'], ports: [{ ...http[0]!, nodePort: 30085 }] });
    const slice = makeSlice('ns4', 'ext', [{ addresses: ['10.180.0.4'], nodeName: 'test-node' }, { addresses: ['10.180.2.4'], nodeName: 'node2' }], http);
    const cluster = ex(state([ext('Cluster')], [slice]), '203.0.113.2', '192.168.99.7', 80);
    expect(cluster).toMatchObject({ verdict: 'DNAT', possibleEndpoints: ['10.180.0.4:80', '10.180.2.4:80'], masquerade: true });
    expect(cluster.rules).toContain('-A KUBE-SERVICES -m comment --comment "Kubernetes service external ip + port for masquerade and filter purpose" -m set --match-set KUBE-EXTERNAL-IP dst,dst -j KUBE-MARK-MASQ');
    expect(ex(state([ext('Local')], [slice]), '203.0.113.2', '192.168.99.7', 80)).toMatchObject({ possibleEndpoints: ['10.180.0.4:80'], masquerade: false });
    expect(state([ext('Local')], [slice]).boundAddresses).toEqual(['172.30.0.45', '192.168.99.7']);
  });

  it('SCTP NodePorts match the hash:ip,port set on the node address', () => {
    const sctp = makeService('ns5', 'sig', { type: 'NodePort', clusterIP: '172.30.0.46', ports: [{ name: 'sig', port: 3868, protocol: 'SCTP', nodePort: 30086 }] });
    const s = state([sctp], [makeSlice('ns5', 'sig', [{ addresses: ['10.180.2.6'] }], [{ name: 'sig', port: 3868, protocol: 'SCTP' }])]);
    const e = explainIpvs(s, { from: '203.0.113.2', to: '192.168.1.2', port: 30086, protocol: 'SCTP' }, NODE.ips);
    expect(e).toMatchObject({ verdict: 'DNAT', possibleEndpoints: ['10.180.2.6:3868'], masquerade: true });
    expect(e.rules).toContain('SCTP  192.168.1.2:30086 rr');
  });

  it('drops LoadBalancer traffic from outside loadBalancerSourceRanges', () => {
    const lb = makeService('ns3', 'lb', { type: 'LoadBalancer', clusterIP: '172.30.0.44', ports: [{ ...http[0]!, nodePort: 30081 }], loadBalancerSourceRanges: ['203.0.113.0/25'] }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } });
    const s = state([lb], [makeSlice('ns3', 'lb', [{ addresses: ['10.180.0.9'] }], http)]);
    expect(ex(s, '203.0.113.2', '1.2.3.4', 80)).toMatchObject({ verdict: 'DNAT', possibleEndpoints: ['10.180.0.9:80'], masquerade: true });
    expect(ex(s, '203.0.113.130', '1.2.3.4', 80)).toMatchObject({ verdict: 'DROP' });
    expect(s.boundAddresses).toEqual(['172.30.0.44', '1.2.3.4']);
  });
});
