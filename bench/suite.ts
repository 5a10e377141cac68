/**
 * The contract between `run.ts` and a suite. A suite is a file `suites/<name>.bench.ts` whose default export is
 * `async (ctx: SuiteContext) => SuiteResult | BenchRow[]`. It builds its scenario, checks its answer once, times with
 * tinybench against baselines measured in the same run, and returns flat rows; `run.ts` writes
 * `results/<name>.json` and `results/<name>.md` with the machine and Node version.
 */

/** One result row: flat, string or number cells (the Markdown table shows every key, in first-seen order). */
export type BenchRow = Record<string, string | number | boolean>;

export interface SuiteContext {
  /** A smoke pass: tiny sizes and time budgets, seconds in total. */
  quick: boolean;
  /** Progress output (stderr). */
  log(message: string): void;
}

export interface SuiteResult {
  /** Heading of the Markdown file. */
  title?: string;
  rows: BenchRow[];
  /** Free-text lines printed under the table (targets, caveats). */
  notes?: string[];
}

export type Suite = (ctx: SuiteContext) => Promise<SuiteResult | BenchRow[]>;
