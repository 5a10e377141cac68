import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MapOwnershipIndex } from './ownership-index.js';

describe('MapOwnershipIndex', () => {
  it('answers the longest matching prefix, as a scan of every entry would', () => {
    const entry = fc.record({ prefix: fc.nat(0xffffffff), length: fc.integer({ min: 0, max: 32 }), value: fc.nat(1000) });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 40 }), fc.array(fc.nat(40), { maxLength: 10 }), fc.array(fc.nat(0xffffffff), { maxLength: 30 }), (entries, removals, probes) => {
        const index = new MapOwnershipIndex();
        const mask = (l: number) => (l === 0 ? 0 : (0xffffffff << (32 - l)) >>> 0);
        const model = new Map<string, { base: number; length: number; value: number }>();
        for (const e of entries) {
          const base = (e.prefix & mask(e.length)) >>> 0;
          index.set(e.prefix, e.length, e.value);
          model.set(`${base}/${e.length}`, { base, length: e.length, value: e.value });
        }
        for (const r of removals) {
          const e = entries[r];
          if (!e) continue;
          const base = (e.prefix & mask(e.length)) >>> 0;
          expect(index.delete(e.prefix, e.length)).toBe(model.delete(`${base}/${e.length}`));
        }
        const all = [...probes, ...entries.map((e) => e.prefix)];
        const batch = index.lookupMany(all);
        all.forEach((ip, i) => expect(batch[i] === 0xffffffff ? undefined : batch[i]).toBe(index.lookup(ip)));
        for (const ip of all) {
          let best: { length: number; value: number } | undefined;
          for (const m of model.values()) if (((ip & mask(m.length)) >>> 0) === m.base && (!best || m.length > best.length)) best = m;
          expect(index.lookup(ip)).toBe(best?.value);
        }
      }),
    );
  });
});
