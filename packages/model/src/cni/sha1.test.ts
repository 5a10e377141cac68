import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { podHostVethName, sha1Hex } from './sha1.js';

describe('sha1Hex', () => {
  it('matches the FIPS 180 test vectors', () => {
    expect(sha1Hex('')).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    expect(sha1Hex('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(sha1Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('84983e441c3bd26ebaae4aa1f95129e5e54670f1');
  });

  it('agrees with node:crypto on arbitrary strings (multi-block, non-ASCII)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (s) => {
        expect(sha1Hex(s)).toBe(createHash('sha1').update(s, 'utf8').digest('hex'));
      }),
    );
  });
});

describe('podHostVethName', () => {
  it('is eni + 11 hex of sha1("namespace.name"), 14 characters (IFNAMSIZ allows 15)', () => {
    const name = podHostVethName('default', 'web-0');
    expect(name).toBe(`eni${createHash('sha1').update('default.web-0').digest('hex').slice(0, 11)}`);
    expect(name).toHaveLength(14);
  });
});
