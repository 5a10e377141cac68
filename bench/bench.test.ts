// The smoke pass CI runs: every suite in --quick mode, each checking its own answer before timing. Figures are
// written to a temporary folder and only their presence and sanity are checked: performance is never asserted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'kube-netsim-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('pnpm bench --quick', () => {
  it('runs every suite, each checking its answer, and writes JSON and Markdown results', () => {
    const suites = readdirSync(join(benchDir, 'suites')).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, ''));
    expect(suites.length).toBeGreaterThan(0);
    // A suite whose answer check fails throws, and run.ts then exits 1, which makes execFileSync throw here.
    execFileSync(join(benchDir, 'node_modules/.bin/tsx'), ['run.ts', '--quick', '--out', out], { cwd: benchDir, stdio: 'pipe', timeout: 240_000 });
    for (const name of suites) {
      const json = JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8')) as { quick: boolean; rows: Record<string, unknown>[]; machine: { node: string } };
      expect(json.quick).toBe(true);
      expect(json.machine.node).toBe(process.version);
      expect(json.rows.length).toBeGreaterThan(0);
      const numbers = json.rows.flatMap((r) => Object.values(r).filter((v): v is number => typeof v === 'number'));
      expect(numbers.length).toBeGreaterThan(0);
      expect(numbers.every((n) => Number.isFinite(n))).toBe(true);
      expect(readFileSync(join(out, `${name}.md`), 'utf8')).toContain('quick smoke pass');
    }
  }, 300_000);
});
