import type { PodTemplateSpec } from '../api/index.js';
import type { SeededRandom } from './random.js';

/** The alphabet of Kubernetes' generated name suffixes (`k8s.io/apimachinery/pkg/util/rand`): no vowels, no 0/1/3. */
export const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `length` random characters from {@link NAME_ALPHABET}, as `generateName` appends (`web-7d4b9c-x2k8p`). */
export function randomNameSuffix(random: SeededRandom, length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += NAME_ALPHABET[random.intn(NAME_ALPHABET.length)];
  return out;
}

/** 32-bit FNV-1a over the UTF-8 bytes of `text`, the hash the Deployment controller uses. */
export function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * `rand.SafeEncodeString`: each character of the text maps to `NAME_ALPHABET[code % 27]`, so the decimal text of
 * a 32-bit hash becomes up to 10 letters and digits that cannot spell words.
 */
export function safeEncodeString(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) out += NAME_ALPHABET[text.charCodeAt(i) % NAME_ALPHABET.length];
  return out;
}

/** JSON with object keys sorted, so equal templates hash equally whatever their key order. */
export function stableJSON(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJSON).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJSON(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The `pod-template-hash` label of a Deployment's ReplicaSet: FNV-1a of the pod template (and the collision
 * count), written with `SafeEncodeString`. The real controller hashes Go's printing of the template struct, so the
 * text differs from a live cluster's; the shape (up to 10 characters of the alphabet) and its stability are the same.
 */
export function podTemplateHash(template: PodTemplateSpec, collisionCount = 0): string {
  const { metadata, spec } = template;
  const labels = { ...(metadata?.labels ?? {}) };
  delete labels['pod-template-hash'];
  const text = stableJSON({ metadata: { ...metadata, labels }, spec }) + (collisionCount ? String(collisionCount) : '');
  return safeEncodeString(String(fnv32a(text)));
}
