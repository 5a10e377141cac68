import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findInstanceLimits, instanceLimits, knownInstanceTypes, nearestInstanceTypes } from './instance-limits.js';
import { eksAmiDefaultMaxPods, maxPods } from './max-pods.js';
import { KubeNetsimError } from '../errors.js';

/** Upstream `misc/eni-max-pods.txt` (vendored; see the fixture's header for commit and licence). */
function upstreamMaxPods(): Map<string, number> {
  const text = readFileSync(new URL('../../test/fixtures/eni-max-pods.txt', import.meta.url), 'utf8');
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [type, value] = t.split(/\s+/);
    out.set(type!, Number(value));
  }
  return out;
}

describe('max pods', () => {
  const upstream = upstreamMaxPods();

  it('reads the whole vendored file', () => {
    expect(upstream.size).toBe(877);
  });

  it('equals upstream eni-max-pods.txt for every type both know', () => {
    const mismatches: string[] = [];
    for (const [type, expected] of upstream) {
      const limits = findInstanceLimits(type);
      if (!limits) continue;
      const ours = maxPods(limits);
      if (ours !== expected) mismatches.push(`${type}: upstream ${expected}, ours ${ours}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('lacks only the types the newer limits table retired', () => {
    // The 2026-08 limits snapshot dropped these (retired hardware); the older max-pods file still lists them.
    const missing = [...upstream.keys()].filter((t) => !findInstanceLimits(t));
    expect(missing).toEqual([
      'i3.metal',
      'p2.16xlarge',
      'p2.8xlarge',
      'p2.xlarge',
      'u-12tb1.112xlarge',
      'u-18tb1.112xlarge',
      'u-24tb1.112xlarge',
      'u-9tb1.112xlarge',
    ]);
  });

  it.each([
    ['t3.small', 11],
    ['m5.large', 29],
    ['m4.large', 20],
    ['t3a.small', 8],
    ['m5.4xlarge', 234],
    ['c5.18xlarge', 737],
    ['p4d.24xlarge', 737],
    ['p5.48xlarge', 100],
  ])('%s → %i (default network card only)', (type, expected) => {
    expect(maxPods(instanceLimits(type))).toBe(expected);
    expect(eksAmiDefaultMaxPods(instanceLimits(type))).toBe(expected);
  });

  it('applies the EKS calculator cap only when vCPUs are given', () => {
    const c5 = instanceLimits('c5.18xlarge');
    expect(maxPods(c5, { capVCPUs: 72 })).toBe(250);
    expect(maxPods(instanceLimits('m5.large'), { capVCPUs: 2 })).toBe(29);
    expect(maxPods(instanceLimits('m5.4xlarge'), { capVCPUs: 16 })).toBe(110);
  });

  it('custom networking drops the primary ENI; prefix delegation multiplies slots by 16', () => {
    const m5 = instanceLimits('m5.large'); // 3 ENIs × 10 IPv4
    expect(maxPods(m5, { customNetworking: true })).toBe(2 * 9 + 2);
    expect(maxPods(m5, { prefixDelegation: true })).toBe(3 * 9 * 16 + 2);
    expect(maxPods(m5, { prefixDelegation: true, capVCPUs: 2 })).toBe(110);
    expect(maxPods(m5, { maxENI: 2 })).toBe(2 * 9 + 2);
    // PD is unavailable on Xen: the secondary-IP formula stays.
    expect(maxPods(instanceLimits('m4.large'), { prefixDelegation: true })).toBe(20);
  });

  it('names the nearest known types for an unknown one', () => {
    expect(nearestInstanceTypes('m5.lage')[0]).toBe('m5.large');
    expect(nearestInstanceTypes('t3.smal')[0]).toBe('t3.small');
    let error: unknown;
    try {
      instanceLimits('m5.lage');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KubeNetsimError);
    expect((error as KubeNetsimError).code).toBe('E_UNKNOWN_INSTANCE_TYPE');
    expect((error as KubeNetsimError).hint).toContain('m5.large');
  });

  it('ships the whole limits table', () => {
    expect(knownInstanceTypes()).toHaveLength(1391);
  });
});
