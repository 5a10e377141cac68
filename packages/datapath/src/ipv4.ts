/** IPv4 addresses as the core stores them: u32 numbers, most significant octet first. */

/** Parses a dotted-quad IPv4 address or passes a u32 through; throws a TypeError naming `name`. */
export function toIPv4(value: string | number, name: string): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= 0xffffffff) return value;
    throw new RangeError(`Expected \`${name}\` to be an IPv4 address (dotted string or u32), got ${value}`);
  }
  if (typeof value === 'string') {
    const parts = value.split('.');
    if (parts.length === 4) {
      let n = 0;
      let ok = true;
      for (const part of parts) {
        if (!/^\d{1,3}$/.test(part) || Number(part) > 255) { ok = false; break; }
        n = n * 256 + Number(part);
      }
      if (ok) return n;
    }
  }
  throw new TypeError(`Expected \`${name}\` to be an IPv4 address such as "10.96.0.10", got ${JSON.stringify(value)}`);
}

/** Formats a u32 as a dotted quad. */
export function formatIPv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** Parses "a.b.c.d/len" into base and prefix length; throws naming `name`. */
export function toIPv4Cidr(value: string, name: string): { base: number; prefix: number } {
  const slash = typeof value === 'string' ? value.indexOf('/') : -1;
  if (slash < 0) throw new TypeError(`Expected \`${name}\` to be an IPv4 CIDR such as "10.0.0.0/16", got ${JSON.stringify(value)}`);
  const prefixText = value.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,2}$/.test(prefixText) || prefix > 32) {
    throw new RangeError(`Expected the prefix length of \`${name}\` to be 0…32, got ${JSON.stringify(prefixText)}`);
  }
  return { base: toIPv4(value.slice(0, slash), name), prefix };
}
