import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { type Document, parseAllDocuments, stringify } from 'yaml';
import { KubeNetsimError } from '../errors.js';
import { readManifests } from './read.js';

// Whatever a user writes, the reader answers with a ClusterInput or a KubeNetsimError that points into the file,
// never a TypeError from a field it did not expect.

const shop = readFileSync(new URL('../../examples/shop.yaml', import.meta.url), 'utf8');
const objects = (parseAllDocuments(shop) as Document[]).map((d) => d.toJS() as Record<string, unknown>);

/** Every path to a value inside an object (`['spec', 'template', 'spec', 'containers', 0, 'ports']`). */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

function setIn(root: Record<string, unknown>, path: (string | number)[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(root);
  if (path.length === 0) return value as Record<string, unknown>;
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
  return copy;
}

const oddValue = fc.oneof(
  fc.constantFrom(null, -1, 0, 65536, 1.5, '', 'None', '10.0.0.300', '10.0.0.0/33', true, 'yes', [], {}, [null], { a: [1] }),
  fc.jsonValue({ maxDepth: 2 }),
);

describe('readManifests on mutated input', () => {
  it('returns or throws a KubeNetsimError positioned in the changed object, for any value put anywhere in the example', () => {
    const targets = objects.flatMap((o, doc) => paths(o).map((path) => ({ doc, path })));
    fc.assert(
      fc.property(fc.constantFrom(...targets), oddValue, ({ doc, path }, value) => {
        const docs = objects.map((o, i) => (i === doc ? setIn(o, path, value) : o));
        const texts = docs.map((d) => stringify(d));
        const text = texts.join('---\n');
        // The mutated document's lines: the error points into the object that was changed.
        const first = texts.slice(0, doc).reduce((n, t) => n + t.split('\n').length, 1);
        const last = first + texts[doc]!.split('\n').length - 1;
        try {
          readManifests([{ file: 'm.yaml', text }]);
        } catch (e) {
          expect(e).toBeInstanceOf(KubeNetsimError);
          const err = e as KubeNetsimError;
          expect(err.code).toMatch(/^E_[A-Z_]+$/);
          expect(err.position?.file).toBe('m.yaml');
          expect(err.position!.line, `${err.message} (document ${doc}, lines ${first}-${last})`).toBeGreaterThanOrEqual(first - 1);
          expect(err.position!.line, `${err.message} (document ${doc}, lines ${first}-${last})`).toBeLessThanOrEqual(last);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('reads any prefix of the example or fails with a positioned error (a truncated file)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: shop.length }), (cut) => {
        try {
          readManifests([{ file: 'cut.yaml', text: shop.slice(0, cut) }]);
        } catch (e) {
          expect(e).toBeInstanceOf(KubeNetsimError);
          expect((e as KubeNetsimError).position?.file).toBe('cut.yaml');
        }
      }),
      { numRuns: 300 },
    );
  });
});
