import { formatIPv4 } from './ipv4.js';

/**
 * Argument checks of the LPM tables and IP pools, shared by the WebAssembly wrappers and the TypeScript reference so
 * both fail the same way on the same input: `TypeError` (not an integer, or a freed table) or `RangeError` (out of
 * range) naming the argument. A request the table's state refuses is a `DatapathError` with an `E_LPM_…` /
 * `E_IP_POOL_…` code (errors.ts).
 */

const U32_MAX = 0xffff_ffff;

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : `${typeof value} ${String(value)}`;
}

/** Checks an integer argument in [min, max]; `what` says what was expected ("an IPv4 address as a u32"). */
export function checkInteger(name: string, value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`Expected \`${name}\` to be ${what}, an integer in ${min}..${max}; got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`Expected \`${name}\` to be ${what}, an integer in ${min}..${max}; got ${value}`);
  }
  return value;
}

/** An IPv4 address or prefix as an unsigned 32-bit integer (`ipv4ToInt` in @kube-netsim/model). */
export function checkAddress(name: string, value: unknown): number {
  // Fast path for the per-call hot paths: only a u32 survives `>>> 0` unchanged (strings, NaN, fractions don't).
  if (((value as number) >>> 0) === value) return value;
  return checkInteger(name, value, 0, U32_MAX, 'an IPv4 address as an unsigned 32-bit integer');
}

/** A prefix length 0..32 and a prefix with no bits set beyond it. */
export function checkPrefix(prefix: unknown, length: unknown): void {
  checkAddress('prefix', prefix);
  const len = checkInteger('length', length, 0, 32, 'an IPv4 prefix length');
  const hostBits = len === 32 ? 0 : (U32_MAX >>> len);
  if (((prefix as number) & hostBits) !== 0) {
    throw new RangeError(
      `Expected \`prefix\` to have no bits set beyond its length /${len}; got ${formatIPv4(prefix as number)}/${len} ` +
        `(the network is ${formatIPv4(((prefix as number) & ~hostBits) >>> 0)}/${len})`,
    );
  }
}

/** Simulated time in integer seconds, as the tables store it (u32). */
export function checkSeconds(name: string, value: unknown): number {
  if (((value as number) >>> 0) === value) return value;
  return checkInteger(name, value, 0, U32_MAX, 'simulated seconds');
}

/** A call on a freed table or pool: a programming error, so a `TypeError` like any use of a dead object. */
export function freedError(what: string): TypeError {
  return new TypeError(`This ${what} was freed; create a new one (or clone() it before freeing).`);
}
