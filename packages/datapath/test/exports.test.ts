// The public surface of @kube-netsim/datapath, and importing it does nothing (no file read, no WebAssembly).
import { describe, expect, it } from 'vitest';

describe('package entry', () => {
  it('instantiates no WebAssembly at import time', async () => {
    const calls: string[] = [];
    const wasm = globalThis.WebAssembly as unknown as Record<string, unknown>;
    const originals = { Module: wasm.Module, Instance: wasm.Instance, compile: wasm.compile, instantiate: wasm.instantiate };
    for (const name of Object.keys(originals) as (keyof typeof originals)[]) {
      const original = originals[name] as (...a: unknown[]) => unknown;
      wasm[name] = new Proxy(original, {
        apply: (target, self, args) => { calls.push(name); return Reflect.apply(target, self, args); },
        construct: (target, args) => { calls.push(name); return Reflect.construct(target as new (...a: unknown[]) => object, args); },
      });
    }
    try {
      await import('../src/index.js');
      await import('../src/reference/index.js');
    } finally {
      Object.assign(wasm, originals);
    }
    expect(calls).toEqual([]);
  });

  it('exports the documented names', async () => {
    const mod = await import('../src/index.js');
    const reference = await import('../src/reference/index.js');
    expect(Object.keys(mod).sort()).toMatchSnapshot();
    expect(Object.keys(reference).sort()).toMatchSnapshot();
  });
});
