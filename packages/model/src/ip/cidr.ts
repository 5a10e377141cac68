import ipaddr from 'ipaddr.js';
import { KubeNetsimError } from '../errors.js';
import { type IPFamily, intToIPv4, ipv4ToInt, parseIP } from './address.js';

/** An IPv4 or IPv6 prefix. IPv4 prefixes also carry their numeric form for fast arithmetic. */
export class CIDR {
  readonly family: IPFamily;
  /** Network address, canonical text. */
  readonly network: string;
  readonly prefixLength: number;
  /** IPv4 only: network address as an unsigned 32-bit integer. */
  readonly base: number;

  private constructor(family: IPFamily, network: string, prefixLength: number, base: number) {
    this.family = family;
    this.network = network;
    this.prefixLength = prefixLength;
    this.base = base;
  }

  /** Parses `10.0.0.0/16`. Host bits are cleared (as Kubernetes' validation would reject them, `strict` rejects). */
  static parse(text: string, what = 'CIDR', strict = false): CIDR {
    let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      if (typeof text !== 'string' || !text.includes('/')) throw new Error('no prefix length');
      parsed = ipaddr.parseCIDR(text);
    } catch {
      throw new KubeNetsimError('E_INVALID_CIDR', `Expected ${what} to be a CIDR such as 10.0.0.0/16, got ${JSON.stringify(text)}`);
    }
    const [ip, len] = parsed;
    if (ip.kind() === 'ipv4') {
      const raw = ipv4ToInt(ip.toString());
      const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      const base = (raw & mask) >>> 0;
      if (strict && base !== raw) {
        throw new KubeNetsimError('E_INVALID_CIDR', `Expected ${what} ${text} to have no host bits set (did you mean ${intToIPv4(base)}/${len}?)`);
      }
      return new CIDR('IPv4', intToIPv4(base), len, base);
    }
    const net = ipaddr.IPv6.networkAddressFromCIDR(`${ip.toString()}/${len}`) as ipaddr.IPv6;
    return new CIDR('IPv6', net.toRFC5952String(), len, 0);
  }

  static fromIPv4(base: number, prefixLength: number): CIDR {
    const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
    const b = (base & mask) >>> 0;
    return new CIDR('IPv4', intToIPv4(b), prefixLength, b);
  }

  /** Number of addresses (IPv4 exact; IPv6 capped at 2^53). */
  get size(): number {
    const bits = (this.family === 'IPv4' ? 32 : 128) - this.prefixLength;
    return bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** bits;
  }

  /** IPv4: the last address as an integer. */
  get last(): number {
    return (this.base + this.size - 1) >>> 0;
  }

  contains(ip: string): boolean {
    const a = parseIP(ip);
    if ((a.kind() === 'ipv4') !== (this.family === 'IPv4')) return false;
    if (this.family === 'IPv4') return this.containsInt(ipv4ToInt(ip));
    return (a as ipaddr.IPv6).match(ipaddr.parse(this.network) as ipaddr.IPv6, this.prefixLength);
  }

  /** IPv4 only. */
  containsInt(ip: number): boolean {
    if (this.prefixLength === 0) return true;
    const mask = (0xffffffff << (32 - this.prefixLength)) >>> 0;
    return ((ip & mask) >>> 0) === this.base;
  }

  /** True when `other` lies entirely inside this prefix. */
  covers(other: CIDR): boolean {
    return other.family === this.family && other.prefixLength >= this.prefixLength && this.contains(other.network);
  }

  overlaps(other: CIDR): boolean {
    return this.covers(other) || other.covers(this);
  }

  /** IPv4: the address at `offset` from the network address (`nth(1)` is the first host). */
  nth(offset: number): string {
    if (this.family !== 'IPv4') {
      const bytes = (ipaddr.parse(this.network) as ipaddr.IPv6).toByteArray();
      let carry = offset;
      for (let i = 15; i >= 0 && carry > 0; i--) {
        const v = bytes[i]! + (carry % 256);
        bytes[i] = v % 256;
        carry = Math.floor(carry / 256) + Math.floor(v / 256);
      }
      return (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
    }
    return intToIPv4((this.base + offset) >>> 0);
  }

  toString(): string {
    return `${this.network}/${this.prefixLength}`;
  }
}

export function parseCIDR(text: string, what?: string): CIDR {
  return CIDR.parse(text, what);
}
