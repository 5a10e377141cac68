// What every CLI test needs: the command run in-process with its output captured, and a temporary directory of
// input files that goes away after the test file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { run } from '../src/run.js';

/** Runs `kube-netsim <argv…>` as the bin does, returning its exit code and what it wrote to stdout and stderr. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

/** A fresh directory for this test file (made before its tests, removed after): `path(name)`, `file(name, text)`. */
export function tempDir(prefix: string): { path(name: string): string; file(name: string, text: string): string } {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const path = (name: string) => join(dir, name);
  return {
    path,
    file(name, text) {
      writeFileSync(path(name), text);
      return path(name);
    },
  };
}
