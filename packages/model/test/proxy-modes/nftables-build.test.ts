import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeService, makeSlice } from './fixtures.js';
import { resolveKubeProxyConfiguration } from '../../src/proxy/config.js';
import { buildProxyServiceState } from '../../src/proxy/service-port.js';
import { buildNftablesRuleset, nftablesNodePortAddresses } from '../../src/proxy/nftables/build.js';
import { hashAndTruncate } from '../../src/proxy/nftables/names.js';
import { sortNftablesTransaction } from '../../src/proxy/nftables/normalize.js';
import { printNftablesRuleset } from '../../src/proxy/nftables/print.js';

const p80 = [{ name: 'p80', port: 80, protocol: 'TCP' as const }];
const ep80 = [{ name: 'p80', port: 80, protocol: 'TCP' as const }];

/** The Services and EndpointSlices of upstream's TestOverallNFTablesRules. */
function overallInput() {
  const services = [
    makeService('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: p80 }),
    makeService(
      'ns2',
      'svc2',
      { type: 'LoadBalancer', externalTrafficPolicy: 'Local', clusterIP: '172.30.0.42', ports: [{ ...p80[0]!, nodePort: 3001 }], externalIPs: ['192.168.99.22'], healthCheckNodePort: 30000 },
      { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
    ),
    makeService('ns3', 'svc3', { type: 'NodePort', clusterIP: '172.30.0.43', ports: [{ ...p80[0]!, nodePort: 3003 }] }),
    makeService('ns4', 'svc4', { type: 'NodePort', clusterIP: '172.30.0.44', externalIPs: ['192.168.99.33'], ports: [{ ...p80[0]!, targetPort: 80 }] }),
    makeService(
      'ns5',
      'svc5',
      {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Cluster',
        clusterIP: '172.30.0.45',
        ports: [{ ...p80[0]!, nodePort: 3002 }],
        healthCheckNodePort: 30000,
        loadBalancerSourceRanges: [' 203.0.113.0/25'],
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      },
      { loadBalancer: { ingress: [{ ip: '5.6.7.8' }] } },
    ),
    makeService('ns6', 'svc6', { clusterIP: '172.30.0.46', ports: [{ ...p80[0]!, targetPort: 80 }] }),
  ];
  const endpointSlices = [
    makeSlice('ns1', 'svc1', [{ addresses: ['10.180.0.1'] }], ep80),
    makeSlice('ns2', 'svc2', [{ addresses: ['10.180.0.2'] }], ep80),
    makeSlice('ns3', 'svc3', [{ addresses: ['10.180.0.3'] }], ep80),
    makeSlice('ns4', 'svc4', [{ addresses: ['10.180.0.4'] }, { addresses: ['10.180.0.5'], nodeName: 'test-node' }], ep80),
    makeSlice('ns5', 'svc5', [{ addresses: ['10.180.0.3'] }], ep80),
  ];
  return {
    state: buildProxyServiceState({ services, endpointSlices, nodeName: 'test-node' }),
    node: { name: 'test-node', ips: ['192.168.0.2', '192.168.1.2', '192.168.99.11'] },
    config: resolveKubeProxyConfiguration({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'nftables',
      clusterCIDR: '10.0.0.0/8',
      nodePortAddresses: ['192.168.0.2/32'],
    }),
    serviceCIDRs: ['172.30.0.0/16'],
  };
}

describe('nftables ruleset', () => {
  it('equals upstream TestOverallNFTablesRules after its normalisation', () => {
    const fixture = readFileSync(new URL('./overall-nftables-rules.nft', import.meta.url), 'utf8');
    // Upstream's fake proxier hard-codes the mark "0x4000"; the real one formats it with %#08x.
    const expected = sortNftablesTransaction(fixture.replaceAll('0x4000', '0x00004000'));
    const actual = sortNftablesTransaction(printNftablesRuleset(buildNftablesRuleset(overallInput())));
    expect(actual.split('\n')).toEqual(expected.split('\n'));
  });

  it('hashes names as upstream test literals show', () => {
    expect(hashAndTruncate('ns1/svc1/tcp/p80')).toBe('ULMVA6XW-ns1/svc1/tcp/p80');
    expect(hashAndTruncate('ns5/svc5/tcp/p80__10.180.0.3/80')).toBe('GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80');
    const long = hashAndTruncate(`${'a'.repeat(63)}/${'b'.repeat(63)}/tcp/${'c'.repeat(63)}__${'d'.repeat(60)}/65535`);
    expect(long).toHaveLength(240);
    expect(long.endsWith('...')).toBe(true);
  });

  it('accepts NodePorts on the primary IP by default, never on localhost, and everywhere with 0.0.0.0/0', () => {
    const node = { name: 'n', ips: ['10.0.1.5', '10.0.2.7'] };
    expect(nftablesNodePortAddresses(node, [])).toEqual({ all: false, ips: ['10.0.1.5'] });
    expect(nftablesNodePortAddresses(node, ['primary'])).toEqual({ all: false, ips: ['10.0.1.5'] });
    expect(nftablesNodePortAddresses(node, ['10.0.0.0/16', '127.0.0.0/8'])).toEqual({ all: false, ips: ['10.0.1.5', '10.0.2.7'] });
    expect(nftablesNodePortAddresses({ name: 'n', ips: ['10.0.1.5', '127.0.0.1'] }, ['0.0.0.0/1', '127.0.0.0/8'])).toEqual({ all: false, ips: ['10.0.1.5'] });
    expect(nftablesNodePortAddresses(node, ['0.0.0.0/0'])).toEqual({ all: true });
    const text = printNftablesRuleset(buildNftablesRuleset({ ...overallInput(), config: { ...overallInput().config, nodePortAddresses: ['0.0.0.0/0'] } }));
    expect(text).not.toContain('nodeport-ips');
    expect(text).toContain('add rule ip kube-proxy services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports');
    expect(text).toContain('add rule ip kube-proxy nodeport-endpoints-check ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports');
  });

  it('writes no masquerade rule for ClusterIP traffic without a detector (EKS), one for every packet with masqueradeAll', () => {
    const base = overallInput();
    const none = printNftablesRuleset(buildNftablesRuleset({ ...base, config: { ...base.config, localDetector: { kind: 'none' } } }));
    expect(none).not.toMatch(/service-ULMVA6XW-ns1\/svc1\/tcp\/p80 ip daddr/);
    const all = printNftablesRuleset(buildNftablesRuleset({ ...base, config: { ...base.config, masqueradeAll: true } }));
    expect(all).toContain('add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 jump mark-for-masquerade\n');
  });
});
