/**
 * `computeProbability(n)`: Go's `fmt.Sprintf("%0.10f", 1.0/float64(n))`, the `--probability` of the rule that
 * picks among n remaining endpoints. Go rounds the exact binary value half-to-even; JavaScript's `toFixed` rounds
 * ties up, which differs for n = 2048 (`0.0004882812`, not `…813`), so ties are decided here on the exact digits.
 */
export function computeProbability(n: number): string {
  // kube-proxy caches these too (precomputedProbabilities); the exact-digit rounding below is not free.
  let text = cache.get(n);
  if (text === undefined) cache.set(n, (text = formatProbability(n)));
  return text;
}

const cache = new Map<number, string>();

function formatProbability(n: number): string {
  const x = 1 / n;
  // toFixed(100) is exact for these values: 1/n is m·2^-e with e ≤ 100 for n < 2^47.
  const exact = x.toFixed(100);
  const point = exact.indexOf('.');
  const kept = exact.slice(0, point + 11);
  const rest = exact.slice(point + 11);
  const tie = /^50*$/.test(rest);
  const up = rest > '5' && !tie ? true : tie ? Number(kept[kept.length - 1]) % 2 === 1 : false;
  return up ? x.toFixed(10) : kept;
}
