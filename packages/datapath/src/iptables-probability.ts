/**
 * The arithmetic between kube-proxy and the kernel for `-m statistic --mode random --probability p`.
 *
 * kube-proxy prints p = 1/k with `fmt.Sprintf("%0.10f", …)` (Go: exact decimal value of the double, rounded half to
 * even); iptables' libxt_statistic parses it with strtod and stores `lround(0x80000000 * p)`; the kernel's
 * xt_statistic matches when `(prandom_u32() & 0x7FFFFFFF) < probability`. So a rule matches with probability
 * threshold / 2^31, not exactly 1/k.
 */

/** kube-proxy's `computeProbability(k)`: 1/k with exactly 10 decimals, as Go prints it. */
export function kubeProxyProbability(k: number): string {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`Expected \`k\` to be an integer ≥ 1, got ${k}`);
  const x = 1 / k;
  // x = mantissa · 2^-shift exactly; round x · 10^10 half to even on that exact value.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) mantissa |= 1n << 52n;
  const shift = BigInt(1075 - (biased === 0 ? 1 : biased)); // x = mantissa / 2^shift
  const scaled = mantissa * 10_000_000_000n;
  let q = scaled >> shift;
  const rem = scaled - (q << shift);
  const half = 1n << (shift - 1n);
  if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
  const digits = q.toString().padStart(11, '0');
  return `${digits.slice(0, -10)}.${digits.slice(-10)}`;
}

/** The kernel's u32 threshold for the rule kube-proxy writes when `k` endpoints remain (k ≥ 2). */
export function statisticThreshold(k: number): number {
  const p = Number(kubeProxyProbability(k)); // strtod: correctly rounded, as JavaScript's parse
  const v = p * 0x80000000; // exact: a power-of-two scale
  const f = Math.floor(v);
  return v - f >= 0.5 ? f + 1 : f; // lround: half away from zero
}

/** Thresholds for k = 0 … length−1 (entries 0 and 1 unused: the last endpoint's rule has no statistic match). */
export function statisticThresholds(length: number): Uint32Array {
  const table = new Uint32Array(length);
  for (let k = 2; k < length; k++) table[k] = statisticThreshold(k);
  return table;
}
