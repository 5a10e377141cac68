// The TypeScript port of the core's hashes agrees with the WebAssembly one bit for bit; the kube-proxy printing
// matches Go's "%0.10f" on the cases where JavaScript's toFixed would differ.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kubeProxyProbability } from '../src/index.js';
import { ctHash, draw, flowHash, hsiphash32 } from '../src/reference/index.js';
import { newDatapath } from './helpers.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });

describe('hashes', () => {
  const core = newDatapath().exports;
  it('draw and flowHash agree', () => {
    fc.assert(fc.property(u32, u32, fc.integer({ min: 0, max: 1000 }), (flow, seed, k) => {
      expect(core.coreDraw(flow, seed, k) >>> 0).toBe(draw(flow, seed, k));
    }));
    fc.assert(fc.property(fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 0, max: 2 }), u32, fc.integer({ min: 0, max: 65535 }), u32, fc.integer({ min: 0, max: 65535 }),
      (node, pi, src, sport, dst, dport) => {
        expect(core.coreFlowHash(node, pi, src, sport, dst, dport) >>> 0).toBe(flowHash(node, pi, src, sport, dst, dport));
      }));
  });
  it('ctHash agrees', () => {
    fc.assert(fc.property(u32, u32, u32, u32, (tag, src, dst, ports) => {
      expect(core.coreCtHash(tag, src, dst, ports) >>> 0).toBe(ctHash(tag, src, dst, ports));
    }));
  });
  it('hsiphash (SipHash-1-3 over u64) agrees between AssemblyScript i64 and BigInt', () => {
    fc.assert(fc.property(u32, fc.constantFrom(2654435761, 2654446892), (v, key) => {
      expect(core.coreHsiphash32(v, key, 0) >>> 0).toBe(hsiphash32(v, key));
    }));
  });
});

describe('kubeProxyProbability', () => {
  it('prints 1/k with ten decimals as Go does', () => {
    expect(kubeProxyProbability(1)).toBe('1.0000000000');
    expect(kubeProxyProbability(2)).toBe('0.5000000000');
    expect(kubeProxyProbability(3)).toBe('0.3333333333');
    expect(kubeProxyProbability(100001)).toBe('0.0000099999'); // kube-proxy's own test value
    // 1/2048 = 0.00048828125 exactly: a tie, which Go rounds to even (toFixed would give …813).
    expect(kubeProxyProbability(2048)).toBe('0.0004882812');
  });
});
