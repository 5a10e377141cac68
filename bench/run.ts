/**
 * Runs every `suites/*.bench.ts` (or those named on the command line) and writes `results/<suite>.json` and
 * `results/<suite>.md`. `--quick` asks each suite for a smoke pass and writes to `results/quick/` (not committed), so
 * a smoke pass never replaces measured figures; `--out DIR` writes elsewhere. See suite.ts for the contract.
 *
 *   pnpm bench [--quick] [--out DIR] [suite …]
 */
import { readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchRow, Suite, SuiteResult } from './suite.js';

const here = new URL('.', import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outAt = args.indexOf('--out');
const outArg = outAt >= 0 ? args[outAt + 1] : undefined;
if (outAt >= 0 && (outArg === undefined || outArg.startsWith('--'))) {
  console.error('--out needs a directory');
  process.exit(2);
}
const only = args.filter((a, i) => !a.startsWith('--') && !(outAt >= 0 && i === outAt + 1));
const suitesDir = new URL('suites/', here);
const resultsDir = outArg !== undefined ? pathToFileURL(`${resolve(outArg)}/`) : new URL(quick ? 'results/quick/' : 'results/', here);

const files = readdirSync(suitesDir).filter((f) => f.endsWith('.bench.ts')).sort();
const selected = files.filter((f) => only.length === 0 || only.includes(f.replace(/\.bench\.ts$/, '')));
if (selected.length === 0) {
  console.error(`No suite matches ${only.join(', ')}; available: ${files.map((f) => f.replace(/\.bench\.ts$/, '')).join(', ')}`);
  process.exit(2);
}

const machine = {
  node: process.version,
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  platform: `${process.platform}-${process.arch}`,
};

function format(value: BenchRow[string] | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value.toLocaleString('en-US');
    return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : value.toPrecision(3);
  }
  return String(value);
}

export function markdown(name: string, result: SuiteResult, when: string): string {
  const columns: string[] = [];
  for (const row of result.rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const lines = [
    `# ${result.title ?? name}`,
    '',
    `${when} · Node ${machine.node} · ${machine.cpu} (${machine.cores} cores) · ${machine.platform}${quick ? ' · **quick smoke pass, not representative**' : ''}`,
    '',
    `| ${columns.join(' | ')} |`,
    `| ${columns.map((c) => (result.rows.some((r) => typeof r[c] === 'number') ? '---:' : '---')).join(' | ')} |`,
    ...result.rows.map((row) => `| ${columns.map((c) => format(row[c])).join(' | ')} |`),
  ];
  if (result.notes?.length) lines.push('', ...result.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

mkdirSync(resultsDir, { recursive: true });
let failed = false;
for (const file of selected) {
  const name = file.replace(/\.bench\.ts$/, '');
  const started = Date.now();
  console.error(`▶ ${name}${quick ? ' (quick)' : ''}`);
  try {
    const mod = (await import(pathToFileURL(new URL(file, suitesDir).pathname).href)) as { default?: Suite };
    if (typeof mod.default !== 'function') throw new TypeError(`suites/${file} has no default export function (see bench/suite.ts)`);
    const raw = await mod.default({ quick, log: (m) => console.error(`  ${m}`) });
    const result: SuiteResult = Array.isArray(raw) ? { rows: raw } : raw;
    const when = new Date().toISOString();
    writeFileSync(new URL(`${name}.json`, resultsDir), `${JSON.stringify({ suite: name, quick, date: when, machine, ...result }, null, 2)}\n`);
    const md = markdown(name, result, when);
    writeFileSync(new URL(`${name}.md`, resultsDir), md);
    console.log(md);
    console.error(`✔ ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    failed = true;
    console.error(`✘ ${name}:`, error);
  }
}
process.exit(failed ? 1 : 0);
