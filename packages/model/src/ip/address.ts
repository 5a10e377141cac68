import ipaddr from 'ipaddr.js';
import { KubeNetsimError } from '../errors.js';

export type IPFamily = 'IPv4' | 'IPv6';

/** True when `text` is a plain IPv4 or IPv6 address (no prefix, no zone). */
export function isIP(text: string): boolean {
  try {
    parseIP(text);
    return true;
  } catch {
    return false;
  }
}

export function ipFamily(text: string): IPFamily {
  return parseIP(text).kind() === 'ipv4' ? 'IPv4' : 'IPv6';
}

/** Parses an address; IPv4-mapped IPv6 stays IPv6. Throws E_INVALID_IP with the text it was given. */
export function parseIP(text: string, what = 'IP address'): ipaddr.IPv4 | ipaddr.IPv6 {
  if (typeof text !== 'string' || !ipaddr.isValid(text) || (text.includes('.') && !text.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(text))) {
    throw new KubeNetsimError('E_INVALID_IP', `Expected ${what} to be an IPv4 or IPv6 address, got ${JSON.stringify(text)}`);
  }
  return ipaddr.parse(text);
}

/** Canonical text: IPv4 dotted quad without leading zeros, IPv6 in RFC 5952 form. */
export function canonicalIP(text: string): string {
  const ip = parseIP(text);
  return ip.kind() === 'ipv4' ? ip.toString() : (ip as ipaddr.IPv6).toRFC5952String();
}

/** IPv4 text → unsigned 32-bit integer (the datapath's key form). */
export function ipv4ToInt(text: string): number {
  const ip = parseIP(text);
  if (ip.kind() !== 'ipv4') throw new KubeNetsimError('E_INVALID_IP', `Expected an IPv4 address, got ${JSON.stringify(text)}`);
  const o = ip.toByteArray();
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

/** Unsigned 32-bit integer → IPv4 text. */
export function intToIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Orders addresses numerically, IPv4 before IPv6. */
export function compareIPs(a: string, b: string): number {
  const x = parseIP(a).toByteArray();
  const y = parseIP(b).toByteArray();
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}
