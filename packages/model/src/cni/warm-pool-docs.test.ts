import { describe, expect, it } from 'vitest';
import type { AwsNodeEnv } from '../api/config.js';
import { VpcCni } from './vpc-cni.js';

/**
 * The worked examples of the plugin's docs (`docs/eni-and-ip-target.md`, `docs/prefix-and-ip-target.md` in
 * aws/amazon-vpc-cni-k8s), replayed through the simulated ipamd: pods are scheduled one at a time on one node,
 * each retried every 5 s until it gets an address (as the kubelet retries a sandbox), then the pool settles.
 * Expected values are the docs' numbers; where a doc row disagrees with ipamd's code the test follows the code and
 * says which row.
 */
function settle(env: AwsNodeEnv, instanceType: string, pods: number, maxPods?: number) {
  const cni = new VpcCni({
    vpcCIDRs: ['10.0.0.0/16'],
    subnets: [{ id: 'subnet-a', cidr: '10.0.0.0/19', zone: 'us-east-1a', public: false }],
    env,
  });
  cni.addNode({ nodeName: 'node-1', instanceType, ...(maxPods ? { maxPods } : {}) });
  for (let i = 0; i < pods; i++) {
    for (let tries = 0; ; tries++) {
      if (cni.assignPodIP('node-1', `default/pod-${i}`).ok) break;
      if (tries > 60) throw new Error(`pod ${i} never got an address`);
      cni.advance(5);
    }
    cni.advance(10);
  }
  cni.advance(300);
  const s = cni.nodeStatus('node-1');
  return {
    enis: s.enis.length,
    perENI: s.enis.map((e) => (s.mode === 'prefix-delegation' ? e.prefixes.length : e.secondaryIPs.length)),
    total: s.totalIPs,
    unused: s.totalIPs - s.assigned,
  };
}

describe('docs/eni-and-ip-target.md, t3.small (3 ENIs × 4 IPv4: 3 usable per ENI)', () => {
  it.each([
    // WARM_ENI_TARGET=1 (the default)
    [{}, 0, { enis: 1, perENI: [3], total: 3, unused: 3 }],
    [{}, 5, { enis: 3, perENI: [3, 3, 3], total: 9, unused: 4 }],
    [{}, 9, { enis: 3, perENI: [3, 3, 3], total: 9, unused: 0 }],
    [{ WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '1' }, 0, { enis: 1, perENI: [1], total: 1, unused: 1 }],
    [{ WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '1' }, 5, { enis: 2, perENI: [3, 3], total: 6, unused: 1 }],
    [{ WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '1' }, 9, { enis: 3, perENI: [3, 3, 3], total: 9, unused: 0 }],
    // The doc lists this row's IPs per ENI as "2,3"; ipamd fills eth0 (3) first, then creates eth1 with the 2 short.
    [{ WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '5' }, 0, { enis: 2, perENI: [3, 2], total: 5, unused: 5 }],
    [{ WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '5' }, 5, { enis: 3, perENI: [3, 3, 1], total: 7, unused: 2 }],
    [{ WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '5' }, 9, { enis: 3, perENI: [3, 3, 3], total: 9, unused: 0 }],
  ] as const)('%j with %i pods', (env, pods, expected) => {
    expect(settle(env, 't3.small', pods)).toEqual(expected);
  });
});

describe('docs/eni-and-ip-target.md, p3dn.24xlarge (15 ENIs × 50 IPv4: 49 usable per ENI)', () => {
  it.each([
    [{}, 0, { enis: 1, perENI: [49], total: 49, unused: 49 }],
    [{}, 3, { enis: 2, perENI: [49, 49], total: 98, unused: 95 }],
    [{}, 95, { enis: 3, perENI: [49, 49, 49], total: 147, unused: 52 }],
    [{ WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10' }, 0, { enis: 1, perENI: [10], total: 10, unused: 10 }],
    [{ WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10' }, 7, { enis: 1, perENI: [12], total: 12, unused: 5 }],
    [{ WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10' }, 15, { enis: 1, perENI: [20], total: 20, unused: 5 }],
    [{ WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10' }, 45, { enis: 2, perENI: [49, 1], total: 50, unused: 5 }],
  ] as const)('%j with %i pods', (env, pods, expected) => {
    expect(settle(env, 'p3dn.24xlarge', pods)).toEqual(expected);
  });
});

describe('README "ENI Allocation", m4.4xlarge (8 ENIs × 30 IPv4)', () => {
  it('holds 2 ENIs (58 IPs) up to 29 pods and 3 ENIs (87 IPs) from 30 pods', () => {
    expect(settle({}, 'm4.4xlarge', 0).total).toBe(29); // 0 pods: 29 available is not < 29 × 1
    expect(settle({}, 'm4.4xlarge', 1)).toMatchObject({ enis: 2, total: 58 });
    expect(settle({}, 'm4.4xlarge', 29)).toMatchObject({ enis: 2, total: 58 });
    expect(settle({}, 'm4.4xlarge', 30)).toMatchObject({ enis: 3, total: 87 });
    expect(settle({}, 'm4.4xlarge', 58)).toMatchObject({ enis: 3, total: 87 });
  });
});

describe('docs/prefix-and-ip-target.md, t3.small with prefix delegation (3 /28 prefixes per ENI)', () => {
  // PD users raise the kubelet's max pods (eni-max-pods.txt says 11 for t3.small): 110 here.
  const pd = { ENABLE_PREFIX_DELEGATION: 'true' };
  it.each([
    [{ WARM_PREFIX_TARGET: '1' }, 0, { enis: 1, perENI: [1], total: 16, unused: 16 }],
    [{ WARM_PREFIX_TARGET: '1' }, 5, { enis: 1, perENI: [2], total: 32, unused: 27 }],
    [{ WARM_PREFIX_TARGET: '1' }, 16, { enis: 1, perENI: [2], total: 32, unused: 16 }],
    [{ WARM_PREFIX_TARGET: '1' }, 17, { enis: 1, perENI: [3], total: 48, unused: 31 }],
    [{ WARM_PREFIX_TARGET: '1' }, 58, { enis: 2, perENI: [3, 2], total: 80, unused: 22 }],
    [{ WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '1' }, 0, { enis: 1, perENI: [1], total: 16, unused: 16 }],
    [{ WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '1' }, 5, { enis: 1, perENI: [1], total: 16, unused: 11 }],
    [{ WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '1' }, 17, { enis: 1, perENI: [2], total: 32, unused: 15 }],
    [{ WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '1' }, 58, { enis: 2, perENI: [3, 1], total: 64, unused: 6 }],
    // The doc's 0-pod row says "1 attached prefix"; the code allocates ceil(MINIMUM_IP_TARGET / 16) = 2 prefixes.
    [{ WARM_IP_TARGET: '7', MINIMUM_IP_TARGET: '20' }, 0, { enis: 1, perENI: [2], total: 32, unused: 32 }],
    [{ WARM_IP_TARGET: '7', MINIMUM_IP_TARGET: '20' }, 5, { enis: 1, perENI: [2], total: 32, unused: 27 }],
    [{ WARM_IP_TARGET: '7', MINIMUM_IP_TARGET: '20' }, 17, { enis: 1, perENI: [2], total: 32, unused: 15 }],
    [{ WARM_IP_TARGET: '7', MINIMUM_IP_TARGET: '20' }, 58, { enis: 2, perENI: [3, 2], total: 80, unused: 22 }],
  ] as const)('%j with %i pods', (env, pods, expected) => {
    expect(settle({ ...pd, ...env }, 't3.small', pods, 110)).toEqual(expected);
  });

  // p3dn.24xlarge (49 prefixes per ENI). The doc's ENI column shows extra ENIs holding 0 prefixes (rows "3 pods: 2
  // ENIs, 2,0", "95 pods: 3 ENIs, 7,0,0", "45 pods: 2 ENIs, 4,0"); ipamd attaches an ENI only when no ENI has room
  // for a prefix, so the code keeps one ENI. The prefix and unused-IP columns agree with the code.
  it.each([
    [{ WARM_PREFIX_TARGET: '1' }, 0, { enis: 1, perENI: [1], total: 16, unused: 16 }],
    [{ WARM_PREFIX_TARGET: '1' }, 3, { enis: 1, perENI: [2], total: 32, unused: 29 }],
    [{ WARM_PREFIX_TARGET: '1' }, 95, { enis: 1, perENI: [7], total: 112, unused: 17 }],
    [{ WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10' }, 0, { enis: 1, perENI: [1], total: 16, unused: 16 }],
    [{ WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10' }, 7, { enis: 1, perENI: [1], total: 16, unused: 9 }],
    [{ WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10' }, 15, { enis: 1, perENI: [2], total: 32, unused: 17 }],
    [{ WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10' }, 45, { enis: 1, perENI: [4], total: 64, unused: 19 }],
  ] as const)('p3dn.24xlarge %j with %i pods', (env, pods, expected) => {
    expect(settle({ ...pd, ...env }, 'p3dn.24xlarge', pods)).toEqual(expected);
  });
});
