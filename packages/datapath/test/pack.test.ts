// The package as users get it: `pnpm pack`, install the tarball offline in a project outside the workspace, import
// it from Node and run the README's example.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'kube-netsim-datapath-pack-'));
let tarball = '';

beforeAll(() => {
  // The tarball must hold these sources: rebuild dist only when it is missing or older than src (after `pnpm build`,
  // as in `pnpm test`, it is fresh and left alone, so tests of other packages running the built CLI never see it
  // half-written). The .wasm is the one every other test uses.
  if (!existsSync(join(pkgDir, 'build/datapath.wasm'))) execFileSync('pnpm', ['run', 'build:wasm'], { cwd: pkgDir, stdio: 'pipe' });
  const built = existsSync(join(pkgDir, 'dist/index.js')) ? statSync(join(pkgDir, 'dist/index.js')).mtimeMs : 0;
  const newestSource = Math.max(...readdirSync(join(pkgDir, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => statSync(join(pkgDir, 'src', f)).mtimeMs));
  if (built < newestSource) execFileSync('pnpm', ['exec', 'tsup'], { cwd: pkgDir, stdio: 'pipe' });
  const out = execFileSync('pnpm', ['pack', '--pack-destination', work], { cwd: pkgDir, encoding: 'utf8' });
  tarball = out.trim().split('\n').filter((l) => l.endsWith('.tgz')).pop() ?? '';
  if (!tarball.startsWith('/')) tarball = join(work, tarball.split('/').pop()!);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('packed @kube-netsim/datapath', () => {
  it('holds the .wasm, the .d.ts and the built entries, and no sources', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    for (const needed of ['package.json', 'build/datapath.wasm', 'dist/index.js', 'dist/index.d.ts', 'dist/browser.js', 'dist/browser.d.ts', 'dist/reference/index.js', 'dist/reference/index.d.ts']) {
      expect(files).toContain(needed);
    }
    const sources = files.filter((f) => /^(src|assembly|test|docs)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.wat') || f.endsWith('.map'));
    expect(sources).toEqual([]);
  });

  it('installs offline outside the workspace and runs the README example', () => {
    const app = join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'datapath-consumer', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: app, stdio: 'pipe' });
    const doc = readFileSync(join(pkgDir, 'README.md'), 'utf8');
    const example = /```(?:js|ts)\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    writeFileSync(join(app, 'example.mjs'), example!);
    const stdout = execFileSync('node', ['example.mjs'], { cwd: app, encoding: 'utf8' });
    expect(stdout.trim()).toMatch(/^DNAT 10\.0\.(1\.5|2\.7) 8080 false$/);
  });
});
