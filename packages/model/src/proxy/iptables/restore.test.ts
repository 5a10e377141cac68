import { describe, expect, test } from 'vitest';
import type { EndpointSlice, Service } from '../../api/core.js';
import { buildProxyServiceState } from '../service-port.js';
import { renderIptablesRestore } from './restore.js';
import { sortIPTablesRules } from './testing/sort-iptables-rules.js';
import {
  fakeProxierConfig,
  fakeProxierHost,
  fakeProxierNode,
  largeClusterEndpointSlices,
  largeClusterServices,
  overallEndpointSlices,
  overallExpected,
  overallServices,
  repeatedEndpointSlices,
  repeatedExpected,
  repeatedServices,
  repeatedSteps,
} from './testing/upstream-fixtures.js';

function renderUpstream(services = overallServices, endpointSlices = overallEndpointSlices, config = fakeProxierConfig()): string {
  return renderIptablesRestore({
    state: buildProxyServiceState({ services, endpointSlices, nodeName: fakeProxierNode.name }),
    config,
    node: fakeProxierNode,
    host: fakeProxierHost,
    masqueradeMarkText: '0x4000',
  });
}

describe('renderIptablesRestore against kube-proxy’s own test expectations', () => {
  test('TestOverallIPTablesRules', () => {
    expect(sortIPTablesRules(renderUpstream())).toBe(overallExpected);
  });

  test('the normalisation is idempotent on the expected text (the comparison is not vacuous)', () => {
    expect(sortIPTablesRules(overallExpected)).toBe(overallExpected);
  });
});

describe('renderIptablesRestore behaviour', () => {
  const eps = (n: number, base = '10.180.') =>
    Array.from({ length: n }, (_, i) => ({ addresses: [`${base}${Math.floor(i / 250)}.${(i % 250) + 1}`] }));
  const web = () => overallServices[0]!;
  const slice = (endpoints: ReturnType<typeof eps>) => [{ ...overallEndpointSlices[0]!, endpoints }];

  test('probabilities 1/(n-i) with %0.10f, the last rule unconditional, endpoints in string order', () => {
    const out = renderUpstream([web()], slice([{ addresses: ['10.1.1.1'] }, { addresses: ['10.1.1.11'] }, { addresses: ['10.1.1.2'] }]));
    const lb = out.split('\n').filter((l) => l.startsWith('-A KUBE-SVC-XPGD46QRK7WJZT7O') && l.includes('->'));
    expect(lb).toEqual([
      expect.stringContaining('"ns1/svc1:p80 -> 10.1.1.11:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-'),
      expect.stringContaining('"ns1/svc1:p80 -> 10.1.1.1:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-'),
      expect.stringMatching(/"ns1\/svc1:p80 -> 10\.1\.1\.2:80" -j KUBE-SEP-[A-Z2-7]{16}$/),
    ]);
  });

  test('large-cluster mode above 1000 endpoints drops the per-endpoint comments', () => {
    const small = renderUpstream([web()], slice(eps(1000)));
    const large = renderUpstream([web()], slice(eps(1001)));
    expect(small).toContain('-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> ');
    expect(large).not.toContain('-> ');
    expect(large).toMatch(/^-A KUBE-SEP-[A-Z2-7]{16} -s 10\.180\.0\.1 -j KUBE-MARK-MASQ$/m);
    expect(large).toContain('-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP"');
  });

  test('EKS defaults: the real mark, --random-fully, no local detector so no ClusterIP masquerade rule', async () => {
    const { resolveKubeProxyConfiguration } = await import('../config.js');
    const out = renderIptablesRestore({
      state: buildProxyServiceState({ services: [web()], endpointSlices: slice(eps(1)), nodeName: 'n1' }),
      config: resolveKubeProxyConfiguration(),
      node: { name: 'n1', ips: ['10.0.1.23'] },
    });
    expect(out).toContain('-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000\n');
    expect(out).toContain('-j MASQUERADE --random-fully\n');
    expect(out).not.toContain('cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s');
    expect(out.startsWith('*filter\n:KUBE-SERVICES - [0:0]\n:KUBE-EXTERNAL-SERVICES - [0:0]\n:KUBE-FORWARD - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-PROXY-FIREWALL - [0:0]\n:KUBE-FIREWALL - [0:0]\n')).toBe(true);
  });

  test('masqueradeAll masquerades every ClusterIP packet; nodePortAddresses replaces addrtype LOCAL', async () => {
    const { resolveKubeProxyConfiguration } = await import('../config.js');
    const config = resolveKubeProxyConfiguration({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      iptables: { masqueradeAll: true },
      nodePortAddresses: ['192.168.0.0/24'],
    });
    const out = renderUpstream([web()], slice(eps(1)), config);
    expect(out).toContain('-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-MARK-MASQ\n');
    expect(out).toContain('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.0.2 -j KUBE-NODEPORTS\n');
    expect(out).not.toContain('KUBE-FIREWALL');
  });

  test('stale service chains from an earlier sync are flushed and deleted', () => {
    const out = renderIptablesRestore({
      state: buildProxyServiceState({ services: [web()], endpointSlices: slice(eps(1)), nodeName: fakeProxierNode.name }),
      config: fakeProxierConfig(),
      node: fakeProxierNode,
      host: { ...fakeProxierHost, existingNatChains: ['KUBE-SVC-AAAAAAAAAAAAAAAA', 'KUBE-SVC-XPGD46QRK7WJZT7O', 'DOCKER'] },
    });
    expect(out).toContain(':KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]\n');
    expect(out).toContain('-X KUBE-SVC-AAAAAAAAAAAAAAAA\n');
    expect(out).not.toContain('-X KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(out).not.toContain('DOCKER');
  });
});

describe('renderIptablesRestore against earlier kube-proxy test expectations', () => {
  const host = { randomFully: false, nfacctCounters: { localhostNodePortsAccepted: false, ctStateInvalidDropped: false } };
  const render = (services: Service[], endpointSlices: EndpointSlice[], config = fakeProxierConfig()) =>
    renderIptablesRestore({
      state: buildProxyServiceState({ services, endpointSlices, nodeName: fakeProxierNode.name }),
      config,
      node: fakeProxierNode,
      host,
      masqueradeMarkText: '0x4000',
    });

  test('TestSyncProxyRulesRepeated, first sync', () => {
    expect(sortIPTablesRules(render(repeatedServices, repeatedEndpointSlices))).toBe(repeatedExpected);
  });

  test('TestSyncProxyRulesLargeClusterMode: comments until the 1,000-endpoint threshold is crossed', () => {
    const masqueradeAll = { ...fakeProxierConfig(), masqueradeAll: true };
    const dnatLines = (out: string) => out.split('\n').filter((l) => l.startsWith('-A KUBE-SEP-') && l.includes('-j DNAT'));
    const below = dnatLines(render(largeClusterServices, largeClusterEndpointSlices(false), masqueradeAll));
    expect(below).toHaveLength(998);
    expect(below.filter((l) => l.includes('--comment'))).toHaveLength(998);
    expect(below).toContain('-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80');
    const above = dnatLines(render(largeClusterServices, largeClusterEndpointSlices(true), masqueradeAll));
    expect(above).toHaveLength(1001);
    expect(above.filter((l) => l.includes('--comment'))).toHaveLength(0);
    expect(above).toContain('-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80');
    expect(above).toContain('-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination 203.0.113.4:8081');
  });
});

describe('partial syncs (TestSyncProxyRulesRepeated)', () => {
  test('each step rewrites only the changed Services’ chains and deletes the stale ones', () => {
    const host = { randomFully: false, nfacctCounters: { localhostNodePortsAccepted: false, ctStateInvalidDropped: false } };
    // The nat chains in the kernel, as each restore leaves them.
    const kernel = new Set<string>();
    const apply = (restore: string) => {
      const nat = restore.slice(restore.indexOf('*nat'));
      for (const m of nat.matchAll(/^:(\S+) /gm)) kernel.add(m[1]!);
      for (const m of nat.matchAll(/^-X (\S+)$/gm)) kernel.delete(m[1]!);
    };
    const render = (services: Service[], endpointSlices: EndpointSlice[], changed?: string[]) =>
      renderIptablesRestore({
        state: buildProxyServiceState({ services, endpointSlices, nodeName: fakeProxierNode.name }),
        config: fakeProxierConfig(),
        node: fakeProxierNode,
        host: { ...host, existingNatChains: [...kernel] },
        masqueradeMarkText: '0x4000',
        ...(changed ? { changedServices: new Set(changed) } : {}),
      });
    const first = render(repeatedServices, repeatedEndpointSlices);
    expect(sortIPTablesRules(first)).toBe(repeatedExpected);
    apply(first);
    for (const step of repeatedSteps) {
      const out = render(step.services, step.endpointSlices, step.changed);
      expect({ step: step.name, rules: sortIPTablesRules(out) }).toEqual({ step: step.name, rules: step.expected });
      apply(out);
    }
  });
});
