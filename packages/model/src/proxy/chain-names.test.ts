import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { base32StdEncode } from './base32.js';
import { servicePortEndpointChain, servicePortPolicyClusterChain, serviceFirewallChain } from './chain-names.js';
import { sha256 } from './sha256.js';

describe('sha256', () => {
  test('agrees with node:crypto on arbitrary strings, including block-boundary lengths', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (s) => {
        expect(Buffer.from(sha256(s)).toString('hex')).toBe(createHash('sha256').update(s).digest('hex'));
      }),
    );
    for (const n of [55, 56, 63, 64, 65, 119, 120]) {
      const s = 'x'.repeat(n);
      expect(Buffer.from(sha256(s)).toString('hex')).toBe(createHash('sha256').update(s).digest('hex'));
    }
  });
});

describe('base32StdEncode', () => {
  test('RFC 4648 test vectors', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'MY======'],
      ['fo', 'MZXQ===='],
      ['foo', 'MZXW6==='],
      ['foob', 'MZXW6YQ='],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI======'],
    ];
    for (const [input, output] of vectors) expect(base32StdEncode(new TextEncoder().encode(input))).toBe(output);
  });
});

describe('chain names', () => {
  // Literals from kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go (TestOverallIPTablesRules).
  test('KUBE-SVC/KUBE-FW names match kube-proxy', () => {
    expect(servicePortPolicyClusterChain('ns1/svc1:p80', 'tcp')).toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(servicePortPolicyClusterChain('ns2/svc2:p80', 'TCP')).toBe('KUBE-SVC-GNZBNJ2PO5MGZ6GT');
    expect(servicePortPolicyClusterChain('ns3/svc3:p80', 'tcp')).toBe('KUBE-SVC-X27LE4BHSL4DOUIK');
    expect(servicePortPolicyClusterChain('ns4/svc4:p80', 'tcp')).toBe('KUBE-SVC-4SW47YFZTEDKD3PK');
    expect(serviceFirewallChain('ns5/svc5:p80', 'tcp')).toBe('KUBE-FW-NUKIZ6OKUXPJNT4C');
  });
  test('the chains every cluster has, as iptables-save shows them on real nodes', () => {
    expect(servicePortPolicyClusterChain('default/kubernetes:https', 'tcp')).toBe('KUBE-SVC-NPX46M4PTMTKRN6Y');
    expect(servicePortPolicyClusterChain('kube-system/kube-dns:dns', 'udp')).toBe('KUBE-SVC-TCOU7JCQXEZGVUNU');
    expect(servicePortPolicyClusterChain('kube-system/kube-dns:dns-tcp', 'tcp')).toBe('KUBE-SVC-ERIFXISQEP7F7OF4');
    expect(servicePortPolicyClusterChain('kube-system/kube-dns:metrics', 'tcp')).toBe('KUBE-SVC-JD5MR3NA4I4DYORP');
  });
  test('KUBE-SEP names match kube-proxy and depend on the service port', () => {
    expect(servicePortEndpointChain('ns1/svc1:p80', 'tcp', '10.180.0.1:80')).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(servicePortEndpointChain('ns4/svc4:p80', 'tcp', '10.180.0.4:80')).toBe('KUBE-SEP-UKSFD7AGPMPPLUHC');
    expect(servicePortEndpointChain('ns4/svc4:p80', 'tcp', '10.180.0.5:80')).toBe('KUBE-SEP-C6EBXVWJJZMIWKLZ');
    expect(servicePortEndpointChain('ns3/svc3:p80', 'tcp', '10.180.0.3:80')).toBe('KUBE-SEP-OYPFS5VJICHGATKP');
    expect(servicePortEndpointChain('ns5/svc5:p80', 'tcp', '10.180.0.3:80')).toBe('KUBE-SEP-I77PXRDZVX7PMWMN');
  });
});
