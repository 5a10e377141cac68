import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KubeNetsimError } from '../errors.js';
import { canonicalIP, compareIPs, intToIPv4, ipv4ToInt, isIP } from './address.js';
import { CIDR } from './cidr.js';

const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));

describe('IPv4 addresses', () => {
  it('round-trips text and integer forms for every address', () => {
    fc.assert(
      fc.property(octets, ([a, b, c, d]) => {
        const text = `${a}.${b}.${c}.${d}`;
        const n = ipv4ToInt(text);
        expect(n).toBe(a * 2 ** 24 + b * 2 ** 16 + c * 2 ** 8 + d);
        expect(intToIPv4(n)).toBe(text);
      }),
    );
  });

  it('orders numerically, not as strings (10.1.1.11 after 10.1.1.2)', () => {
    expect(compareIPs('10.1.1.2', '10.1.1.11')).toBeLessThan(0);
    expect(['10.1.1.11', '10.1.1.2', '9.0.0.1'].sort(compareIPs)).toEqual(['9.0.0.1', '10.1.1.2', '10.1.1.11']);
    expect(compareIPs('255.255.255.255', '::1')).toBeLessThan(0);
  });

  it('rejects what is not a plain address, naming the input', () => {
    for (const bad of ['10.0.0', '10.0.0.256', '10.0.0.0/8', 'web', '', '0x0a.0.0.1']) {
      expect(isIP(bad)).toBe(false);
      expect(() => ipv4ToInt(bad)).toThrow(KubeNetsimError);
    }
    expect(() => ipv4ToInt('nope')).toThrow(/"nope"/);
  });

  it('writes IPv6 in RFC 5952 form', () => {
    expect(canonicalIP('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIP('10.0.0.1')).toBe('10.0.0.1');
  });
});

describe('CIDR', () => {
  it('contains exactly the addresses between its network and last address', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.integer({ min: 0, max: 32 }), fc.nat(0xffffffff), (base, len, probe) => {
        const cidr = CIDR.fromIPv4(base, len);
        const inside = probe >= cidr.base && probe <= cidr.last;
        expect(cidr.containsInt(probe)).toBe(inside);
        expect(cidr.contains(intToIPv4(probe))).toBe(inside);
      }),
    );
  });

  it('clears host bits unless strict, and says what it expected', () => {
    expect(CIDR.parse('10.0.12.34/16').toString()).toBe('10.0.0.0/16');
    expect(() => CIDR.parse('10.0.12.34/16', 'vpc.cidr', true)).toThrow(/did you mean 10\.0\.0\.0\/16/);
    expect(() => CIDR.parse('10.0.0.0', 'vpc.cidr')).toThrow(/Expected vpc.cidr to be a CIDR/);
    expect(() => CIDR.parse('10.0.0.0/33')).toThrow(KubeNetsimError);
  });

  it('knows sizes, nth addresses, coverage and overlap', () => {
    const vpc = CIDR.parse('192.168.0.0/16');
    const subnet = CIDR.parse('192.168.32.0/19');
    expect(vpc.size).toBe(65536);
    expect(subnet.nth(1)).toBe('192.168.32.1');
    expect(intToIPv4(subnet.last)).toBe('192.168.63.255');
    expect(vpc.covers(subnet)).toBe(true);
    expect(subnet.covers(vpc)).toBe(false);
    expect(subnet.overlaps(vpc)).toBe(true);
    expect(CIDR.parse('10.0.0.0/8').overlaps(vpc)).toBe(false);
    expect(CIDR.parse('10.100.0.0/16').nth(10)).toBe('10.100.0.10');
  });

  it('handles IPv6 prefixes', () => {
    const c = CIDR.parse('fd00:10:96::/108');
    expect(c.family).toBe('IPv6');
    expect(c.contains('fd00:10:96::a')).toBe(true);
    expect(c.contains('fd00:10:97::a')).toBe(false);
    expect(c.contains('10.0.0.1')).toBe(false);
    expect(c.nth(10)).toBe('fd00:10:96::a');
    expect(c.size).toBe(2 ** 20);
  });
});
