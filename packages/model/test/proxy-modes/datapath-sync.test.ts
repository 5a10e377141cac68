import { Verdict, loadDatapathSync } from '@kube-netsim/datapath';
import { describe, expect, it } from 'vitest';
import { resolveKubeProxyConfiguration } from '../../src/proxy/config.js';
import { DatapathProxySync, nodeConfigOf, nodePortFlags } from '../../src/proxy/sync/datapath-sync.js';
import { makeService, makeSlice } from './fixtures.js';

const cfg = (mode: 'iptables' | 'nftables' | 'ipvs', extra = {}) =>
  resolveKubeProxyConfiguration({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode, ...extra });
const nodeA = { name: 'node-a', ips: ['192.168.0.2', '192.168.1.2'] };
const http = [{ name: 'http', port: 80, protocol: 'TCP' as const }];
const web = makeService('shop', 'web', { type: 'NodePort', clusterIP: '172.30.0.10', ports: [{ ...http[0]!, nodePort: 30080 }] });
const api = makeService('shop', 'api', { clusterIP: '172.30.0.11', ports: http });
const webSlice = (ips: string[]) => makeSlice('shop', 'web', ips.map((ip) => ({ addresses: [ip], nodeName: 'node-a' })), [{ name: 'http', port: 8080, protocol: 'TCP' }]);

function setup(mode: 'iptables' | 'nftables' | 'ipvs' = 'iptables') {
  const sync = new DatapathProxySync(loadDatapathSync({ seed: 1 }));
  const node = sync.addNode({ node: nodeA, config: cfg(mode) });
  return { sync, node };
}

function send(sync: DatapathProxySync, node: number, dstIP: string, dstPort: number, srcPort = 40000) {
  const batch = sync.dp.createBatch(1);
  batch.setPacket(0, { node, arrival: 'pod', protocol: 'TCP', srcIP: '10.0.0.5', srcPort, dstIP, dstPort });
  sync.dp.processBatch(batch, 1);
  const r = batch.result(0);
  return { verdict: r.verdict, endpoint: r.verdict === Verdict.DNAT ? sync.endpointName(r.endpointId) : undefined, servicePort: sync.servicePortName(r.servicePortId) };
}

describe('DatapathProxySync', () => {
  it('compiles Services and EndpointSlices, then follows changes object by object', () => {
    const { sync, node } = setup();
    expect(sync.syncAll([web, api], [webSlice(['10.180.0.1'])])).toEqual({
      servicePortsAdded: 2,
      servicePortsUpdated: 0,
      servicePortsRemoved: 0,
      endpointListsWritten: 1,
      addressesAdded: 2,
      addressesRemoved: 0,
    });
    expect(send(sync, node, '172.30.0.10', 80)).toEqual({ verdict: Verdict.DNAT, endpoint: '10.180.0.1:8080', servicePort: 'shop/web:http' });
    expect(send(sync, node, '192.168.1.2', 30080).endpoint).toBe('10.180.0.1:8080');
    expect(send(sync, node, '172.30.0.11', 80).verdict).toBe(Verdict.REJECT);

    // A new endpoint: only web's endpoint list is written.
    expect(sync.applyEndpointSlice(webSlice(['10.180.0.2']))).toMatchObject({ servicePortsUpdated: 0, endpointListsWritten: 1, addressesAdded: 0 });
    expect(send(sync, node, '172.30.0.10', 80, 40001).endpoint).toBe('10.180.0.2:8080');
    // The same slice again changes nothing.
    expect(sync.applyEndpointSlice(webSlice(['10.180.0.2']))).toMatchObject({ endpointListsWritten: 0 });

    // api gets an external IP: one address added, nothing else touched.
    const apiExt = makeService('shop', 'api', { clusterIP: '172.30.0.11', externalIPs: ['192.168.99.5'], ports: http });
    expect(sync.applyService(apiExt)).toEqual({ servicePortsAdded: 0, servicePortsUpdated: 1, servicePortsRemoved: 0, endpointListsWritten: 0, addressesAdded: 1, addressesRemoved: 0 });
    expect(send(sync, node, '192.168.99.5', 80).servicePort).toBe('shop/api:http');

    // Deleting web frees its ClusterIP and NodePort.
    expect(sync.deleteService('shop', 'web')).toMatchObject({ servicePortsRemoved: 1, addressesRemoved: 1 });
    expect(send(sync, node, '172.30.0.10', 80, 40002).verdict).toBe(Verdict.PASS);
    expect(send(sync, node, '192.168.0.2', 30080, 40003).verdict).toBe(Verdict.PASS);
    expect(sync.servicePortId('shop/web:http', 'TCP')).toBeUndefined();
  });

  it('refuses, without changing anything, a Service that takes another one\'s ClusterIP:port or NodePort', () => {
    const { sync, node } = setup();
    sync.syncAll([web], [webSlice(['10.180.0.1'])]);
    const thief = makeService('other', 'thief', { type: 'NodePort', clusterIP: '172.30.0.10', ports: [{ ...http[0]!, nodePort: 30081 }] });
    expect(() => sync.applyService(thief)).toThrow(expect.objectContaining({ code: 'E_PROXY_SYNC_CONFLICT', object: 'Service other/thief' }));
    const portThief = makeService('other', 'thief', { type: 'NodePort', clusterIP: '172.30.0.20', ports: [{ ...http[0]!, nodePort: 30080 }] });
    expect(() => sync.applyService(portThief)).toThrow(/NodePort 30080\/TCP of other\/thief:http is already used by shop\/web:http/);
    expect(send(sync, node, '172.30.0.10', 80).servicePort).toBe('shop/web:http');
    expect(send(sync, node, '172.30.0.20', 80).verdict).toBe(Verdict.PASS);
  });

  it('writes endpoints again with the node id when their node joins later', () => {
    const sync = new DatapathProxySync(loadDatapathSync({ seed: 1 }));
    const a = sync.addNode({ node: nodeA, config: cfg('iptables') });
    const local = makeService('shop', 'local', { type: 'NodePort', externalTrafficPolicy: 'Local', clusterIP: '172.30.0.12', ports: [{ ...http[0]!, nodePort: 30082 }] });
    sync.syncAll([local], [makeSlice('shop', 'local', [{ addresses: ['10.180.1.1'], nodeName: 'node-b' }], [{ name: 'http', port: 8080, protocol: 'TCP' }])]);
    const ext = (node: number, dst: string) => {
      const b = sync.dp.createBatch(1);
      b.setPacket(0, { node, arrival: 'external', protocol: 'TCP', srcIP: '203.0.113.9', srcPort: 5000, dstIP: dst, dstPort: 30082 });
      sync.dp.processBatch(b, 1);
      return b.result(0).verdict;
    };
    expect(ext(a, '192.168.0.2')).toBe(Verdict.DROP);
    const b = sync.addNode({ node: { name: 'node-b', ips: ['192.168.0.3'] }, config: cfg('iptables') });
    expect(ext(b, '192.168.0.3')).toBe(Verdict.DNAT);
  });

  it('compiles each mode\'s node settings and NodePort addresses', () => {
    expect(nodeConfigOf({ node: nodeA, config: cfg('ipvs', { clusterCIDR: '10.0.0.0/8', ipvs: { scheduler: 'lc' } }) })).toEqual({
      mode: 'ipvs',
      ipvsScheduler: 'lc',
      masqueradeAll: false,
      localTrafficDetector: '10.0.0.0/8',
      localhostNodePorts: false,
    });
    expect(nodeConfigOf({ node: nodeA, config: cfg('iptables'), serviceCIDRs: ['172.30.0.0/16'] })).toEqual({
      mode: 'iptables',
      masqueradeAll: false,
      localTrafficDetector: null,
      localhostNodePorts: true,
    });
    expect(nodeConfigOf({ node: nodeA, config: cfg('nftables'), serviceCIDRs: ['fd00::/108', '172.30.0.0/16'] })).toMatchObject({ serviceCIDR: '172.30.0.0/16', localhostNodePorts: false });
    expect(() => nodeConfigOf({ node: nodeA, config: cfg('ipvs', { ipvs: { scheduler: 'wlc' } }) })).toThrow(expect.objectContaining({ code: 'E_PROXY_IPVS_SCHEDULER' }));
    expect(() => nodeConfigOf({ node: nodeA, config: cfg('iptables', { detectLocalMode: 'BridgeInterface', detectLocal: { bridgeInterface: 'cbr0' } }) })).toThrow(
      expect.objectContaining({ code: 'E_PROXY_SYNC_DETECTOR' }),
    );
    expect(nodePortFlags({ node: nodeA, config: cfg('nftables') })).toEqual([['192.168.0.2', true], ['192.168.1.2', false]]);
    expect(nodePortFlags({ node: nodeA, config: cfg('iptables') })).toEqual([['192.168.0.2', true], ['192.168.1.2', true]]);
    expect(nodePortFlags({ node: nodeA, config: cfg('ipvs', { nodePortAddresses: ['192.168.1.0/24'] }) })).toEqual([['192.168.0.2', false], ['192.168.1.2', true]]);
  });

  it('ipvs mode binds each ClusterIP to kube-ipvs0 while some service port uses it', () => {
    const { sync } = setup('ipvs');
    const dns = (ports: Array<{ name: string; port: number; protocol: 'TCP' | 'UDP' }>) => makeService('kube-system', 'dns', { clusterIP: '172.30.0.53', ports });
    sync.syncAll([web, dns([{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }])], []);
    expect(sync.ipvsBoundAddresses('node-a').sort()).toEqual(['172.30.0.10', '172.30.0.53']);
    sync.applyService(dns([{ name: 'dns', port: 53, protocol: 'UDP' }])); // one of the two ports goes: still bound
    expect(sync.ipvsBoundAddresses('node-a').sort()).toEqual(['172.30.0.10', '172.30.0.53']);
    sync.deleteService('kube-system', 'dns');
    expect(sync.ipvsBoundAddresses('node-a')).toEqual(['172.30.0.10']);
    expect(setup('iptables').sync.ipvsBoundAddresses('node-a')).toEqual([]);
  });

  it('nftables mode accepts NodePorts on the primary address only', () => {
    const { sync, node } = setup('nftables');
    sync.syncAll([web], [webSlice(['10.180.0.1'])]);
    expect(send(sync, node, '192.168.0.2', 30080).verdict).toBe(Verdict.DNAT);
    expect(send(sync, node, '192.168.1.2', 30080, 40001).verdict).toBe(Verdict.PASS);
  });
});
