import Table from 'cli-table3';
import picocolors from 'picocolors';
import type { ClusterInput } from '@kube-netsim/model';
import type { Cluster } from '@kube-netsim/model/cluster';
import type { Io } from './io.js';

/**
 * Colour only for a terminal. picocolors also turns colour on whenever a `CI` variable is set, which would put
 * escape codes into output that is piped, captured or compared. NO_COLOR and FORCE_COLOR are honoured.
 */
export function colorWanted(env: Record<string, string | undefined> = process.env, stdoutIsTTY = Boolean(process.stdout.isTTY)): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stdoutIsTTY && env.TERM !== 'dumb';
}

const pc = picocolors.createColors(colorWanted());

/** What every section of a report sees: the built cluster and the input it was read from. */
export interface SectionContext {
  cluster: Cluster;
  input: ClusterInput;
  /** Only this namespace's namespaced objects (`-n`); every namespace when absent. */
  namespace?: string;
}

/**
 * One part of a report (`inspect`, `demo`): a key in the `--json` object and a text rendering. Commands list
 * their sections in order; later features append theirs.
 */
export interface Section {
  /** Key of this section in the `--json` output. */
  name: string;
  json(ctx: SectionContext): unknown;
  /** Text for a terminal; an empty string prints nothing. */
  text(ctx: SectionContext): string;
}

/** Prints the sections: one JSON object keyed by section name, or the texts separated by blank lines. */
export function renderSections(io: Io, sections: readonly Section[], ctx: SectionContext, json: boolean): void {
  if (json) {
    printJson(io, Object.fromEntries(sections.map((s) => [s.name, s.json(ctx)])));
    return;
  }
  const texts = sections.map((s) => s.text(ctx)).filter((t) => t !== '');
  io.out(`${texts.join('\n\n')}\n`);
}

/** kubectl-style columns: no borders, upper-case dim headers, two spaces between columns, multi-line cells. */
export function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({
    head: head.map((h) => pc.dim(h)),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '',
      right: '', 'right-mid': '', middle: '',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 2, compact: true },
  });
  for (const row of rows) t.push(row.map((c) => String(c)));
  // cli-table3 pads the last column too; trailing spaces only get in the way of copy and diff.
  return t
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** A section title line: `Nodes (3)`. */
export function heading(title: string, count?: number): string {
  return pc.bold(count === undefined ? title : `${title} ${pc.dim(`(${count})`)}`);
}

/** Prints a value as pretty JSON with a trailing newline (the `--json` output of every command). */
export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** `80/TCP→8080`, `53/UDP→dns`. */
export function formatPortMapping(port: number, protocol: string | undefined, target: number | string | undefined): string {
  const p = `${port}/${protocol ?? 'TCP'}`;
  return target === undefined || target === port ? p : `${p}→${target}`;
}

/** Colours a pod or endpoint status by how healthy it is. */
export function colorStatus(status: string): string {
  if (status === 'Running' || status === 'ready' || status === 'Succeeded') return pc.green(status);
  if (status === 'Pending' || status === 'ContainerCreating' || status === 'terminating' || status === 'serving') return pc.yellow(status);
  return pc.red(status);
}

export { pc };
