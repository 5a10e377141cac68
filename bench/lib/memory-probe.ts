/**
 * What one random memory access costs on this machine, so the datapath's figures can be read against it: a
 * dependent chase through a random cycle of 64-byte lines (latency: each load waits for the last) and independent
 * loads at random lines (throughput: as many in flight as the core allows), over buffers of a given size.
 */
export interface MemoryProbe {
  megabytes: number;
  /** Nanoseconds per load when each address depends on the previous load. */
  dependentNs: number;
  /** Nanoseconds per load when the addresses are known ahead (the best a batch of lookups can do). */
  independentNs: number;
}

/** A deterministic shuffle (xorshift), so runs probe the same access pattern. */
function shuffle(a: Uint32Array, seed: number): void {
  let x = seed >>> 0 || 1;
  for (let i = a.length - 1; i > 0; i--) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const j = x % (i + 1);
    const t = a[i]!; a[i] = a[j]!; a[j] = t;
  }
}

export function probeMemory(megabytes: number, loads = 1 << 20): MemoryProbe {
  const words = (megabytes * 2 ** 20) / 4;
  const lines = words / 16;
  const buffer = new Uint32Array(words);
  const order = new Uint32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  shuffle(order, 0x9e3779b9);
  for (let i = 0; i < lines; i++) buffer[order[i]! * 16] = order[(i + 1) % lines]! * 16;
  const targets = new Uint32Array(loads);
  for (let i = 0; i < loads; i++) targets[i] = order[i % lines]! * 16;
  shuffle(targets, 12345);

  const chase = (n: number): number => { let p = 0; for (let i = 0; i < n; i++) p = buffer[p]!; return p; };
  const gather = (n: number): number => { let s = 0; for (let i = 0; i < n; i++) s ^= buffer[targets[i]!]!; return s; };
  let best = { dependentNs: Infinity, independentNs: Infinity };
  let sink = 0;
  for (let round = 0; round < 3; round++) { // the best of three: the machine's capability, not its other tenants
    let t = performance.now();
    sink ^= chase(loads);
    const dependentNs = ((performance.now() - t) * 1e6) / loads;
    t = performance.now();
    sink ^= gather(loads);
    const independentNs = ((performance.now() - t) * 1e6) / loads;
    best = { dependentNs: Math.min(best.dependentNs, dependentNs), independentNs: Math.min(best.independentNs, independentNs) };
  }
  if (sink === 0.5) console.log(sink); // keeps the loads observable
  return { megabytes, ...best };
}
