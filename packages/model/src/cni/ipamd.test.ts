import { describe, expect, it } from 'vitest';
import type { AwsNodeEnv } from '../api/index.js';
import { cniConfigFromEnv } from './config.js';
import type { DataStoreStats } from './datastore.js';
import { instanceLimits } from './instance-limits.js';
import { NodeIpamd } from './ipamd.js';
import { Vpc } from './vpc.js';

/**
 * ipamd's pool arithmetic on hand-made states. Expected values are worked from the Go code's formulas
 * (`datastoreTargetState`, `isDatastorePoolTooLow`, `shouldRemoveExtraENIs`), not from this implementation.
 */
function ipamd(env: AwsNodeEnv, instanceType = 't3.small', maxPods = 110): NodeIpamd {
  const vpc = Vpc.create(['10.0.0.0/16'], [{ id: 'subnet-a', cidr: '10.0.0.0/20', zone: 'z', public: false }]);
  // No provisioning: the node starts with a bare primary ENI, so each test builds the state it needs.
  const config = cniConfigFromEnv({ ...env, DISABLE_NETWORK_RESOURCE_PROVISIONING: 'true' });
  return NodeIpamd.launch(vpc, { nodeName: 'n', instanceType, limits: instanceLimits(instanceType), config, subnet: vpc.subnets[0]!, maxPods }, 0);
}

const stats = (totalIPs: number, assignedIPs: number, totalPrefixes = 0): DataStoreStats => ({ totalIPs, assignedIPs, totalPrefixes, cooldownIPs: 0 });

describe('datastoreTargetState (secondary IPs)', () => {
  const n = ipamd({ WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10' });
  it.each([
    [0, 0, { short: 10, over: 0 }], // short = max(5 − 0, 10 − 0)
    [10, 0, { short: 0, over: 0 }], // over = min(10 − 5, 10 − 10) = 0
    [20, 7, { short: 0, over: 8 }], // available 13: over = min(13 − 5, 20 − 10)
    [12, 10, { short: 3, over: 0 }], // available 2: short = 5 − 2
  ])('total %i, assigned %i', (total, assigned, expected) => {
    expect(n.targetState(stats(total, assigned))).toEqual({ ...expected, enabled: true });
  });

  it('is off without WARM_IP_TARGET and MINIMUM_IP_TARGET', () => {
    expect(ipamd({}).targetState(stats(3, 1))).toEqual({ short: 0, over: 0, enabled: false });
  });

  it('MINIMUM_IP_TARGET alone keeps no warm buffer once pods reach it (issue #2650)', () => {
    const m = ipamd({ MINIMUM_IP_TARGET: '10' });
    expect(m.isPoolTooLow(stats(10, 10))).toBe(false);
    expect(m.isPoolTooLow(stats(9, 0))).toBe(true);
  });
});

describe('datastoreTargetState (prefix delegation)', () => {
  function withPrefixes(env: AwsNodeEnv, assignedPerPrefix: number[]): NodeIpamd {
    const n = ipamd({ ENABLE_PREFIX_DELEGATION: 'true', ...env }, 'm5.large');
    const eni = n.ds.enis[0]!;
    assignedPerPrefix.forEach((_, i) => n.ds.addCidr(eni, 0x0a000100 + 16 * i, 28));
    let pod = 0;
    for (const cidr of eni.cidrs) {
      const want = assignedPerPrefix[eni.cidrs.indexOf(cidr)]!;
      for (let k = 0; k < want; k++) cidr.addresses.set(cidr.base + k, { ip: cidr.base + k, podKey: `default/p${pod++}`, unassignedAt: undefined, seq: pod });
    }
    return n;
  }

  it('WARM_IP_TARGET=7 MINIMUM_IP_TARGET=20, 5 pods on 2 prefixes: nothing short, nothing over', () => {
    const n = withPrefixes({ WARM_IP_TARGET: '7', MINIMUM_IP_TARGET: '20' }, [5, 0]);
    // over IPs = min(27 − 7, 32 − 20) = 12; prefixes: min(free 1, 2 − ceil(12/16)) = 1, then min(1, 2 − ceil(20/16)) = 0.
    expect(n.targetState(n.ds.stats(0))).toEqual({ short: 0, over: 0, enabled: true });
  });

  it('the same with a third, free prefix: one over', () => {
    const n = withPrefixes({ WARM_IP_TARGET: '7', MINIMUM_IP_TARGET: '20' }, [5, 0, 0]);
    expect(n.targetState(n.ds.stats(0))).toEqual({ short: 0, over: 1, enabled: true });
  });

  it('short converts IPs to prefixes: MINIMUM_IP_TARGET=20 with nothing is ceil(20/16) = 2 prefixes', () => {
    const n = withPrefixes({ WARM_IP_TARGET: '7', MINIMUM_IP_TARGET: '20' }, []);
    expect(n.targetState(n.ds.stats(0))).toEqual({ short: 2, over: 0, enabled: true });
  });

  it('WARM_PREFIX_TARGET=1: low while fewer than 16 addresses are free', () => {
    const n = withPrefixes({ WARM_PREFIX_TARGET: '1' }, [1]);
    expect(n.isPoolTooLow(n.ds.stats(0))).toBe(true);
    const m = withPrefixes({ WARM_PREFIX_TARGET: '1' }, [16, 0]);
    expect(m.isPoolTooLow(m.ds.stats(0))).toBe(false);
    expect(m.isPoolTooHigh(m.ds.stats(0))).toBe(false); // free prefixes 1, not > 1
  });
});

describe('isDatastorePoolTooLow and shouldRemoveExtraENIs (WARM_ENI_TARGET, t3.small: 3 IPs per ENI)', () => {
  it.each([
    [{}, 3, 0, false], // 3 available is not < 3 × 1
    [{}, 3, 1, true], // 2 < 3
    [{ WARM_ENI_TARGET: '2' }, 3, 0, true], // 3 < 6
    [{ WARM_ENI_TARGET: '0' }, 3, 3, true], // target 0: low only when nothing is available
    [{ WARM_ENI_TARGET: '0' }, 3, 2, false],
  ] as const)('%j total %i assigned %i → %s', (env, total, assigned, low) => {
    expect(ipamd(env).isPoolTooLow(stats(total, assigned))).toBe(low);
  });

  it('stops at max pods: a pool holding max-pods addresses is never low', () => {
    expect(ipamd({}, 't3.small', 3).isPoolTooLow(stats(3, 3))).toBe(false);
  });

  it('looks for an ENI to free once (WARM_ENI_TARGET + 1) ENIs of addresses are free', () => {
    expect(ipamd({}).shouldRemoveExtraENIs(stats(9, 3))).toBe(true); // 6 ≥ 2 × 3
    expect(ipamd({}).shouldRemoveExtraENIs(stats(9, 4))).toBe(false);
    expect(ipamd({ WARM_IP_TARGET: '1' }).shouldRemoveExtraENIs(stats(9, 9))).toBe(true); // always, with WARM IP targets
  });

  it('never shrinks in plain WARM_ENI mode', () => {
    expect(ipamd({}).isPoolTooHigh(stats(9, 0))).toBe(false);
  });
});
