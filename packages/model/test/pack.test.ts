import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The package as a user gets it: packed, installed offline into a project outside the workspace, imported
// one subpath at a time. Needs the built dist (`pnpm test` builds first; alone: `pnpm build` then this file).

const modelDir = fileURLToPath(new URL('..', import.meta.url));
const datapathDir = join(modelDir, '..', 'datapath');
const pkg = JSON.parse(readFileSync(join(modelDir, 'package.json'), 'utf8')) as { exports: Record<string, unknown>; version: string };
/** `./ip` → `@kube-netsim/model/ip`; `.` → `@kube-netsim/model`. */
const subpaths = Object.keys(pkg.exports)
  .filter((k) => k !== './package.json' && !k.includes('*'))
  .map((k) => (k === '.' ? '@kube-netsim/model' : `@kube-netsim/model/${k.slice(2)}`));
/** Entries allowed to bring the YAML parser: the manifests subpath and the root, which re-exports it. */
const MAY_USE_YAML = new Set(['@kube-netsim/model', '@kube-netsim/model/manifests']);

/** The part of esbuild's API used here (its types are not a dependency of this package). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ metafile: { inputs: Record<string, { imports: { path: string }[] }> } }>;
  transformSync(code: string, options: Record<string, unknown>): { code: string };
}
// esbuild comes with tsup (a devDependency of this package); resolve it from there.
const esbuild = createRequire(createRequire(join(modelDir, 'package.json')).resolve('tsup'))('esbuild') as Esbuild;

let project: string;

function sh(cmd: string, args: string[], cwd: string, input?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input === undefined ? {} : { input }) });
}

/** Bundles `export * from subpath` for the browser as a user's bundler would; the files and imports it took in. */
async function bundle(subpath: string): Promise<{ inputs: string[]; imports: string[] }> {
  const result = await esbuild.build({
    stdin: { contents: `export * from ${JSON.stringify(subpath)};`, resolveDir: project, loader: 'js' },
    bundle: true,
    write: false,
    metafile: true,
    platform: 'browser',
    format: 'esm',
    logLevel: 'silent',
    absWorkingDir: project,
  });
  return {
    inputs: Object.keys(result.metafile.inputs),
    imports: Object.values(result.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path)),
  };
}

const isYamlParser = (path: string) => /(^|\/)yaml@|node_modules\/yaml\//.test(path);

/** The first ```ts / ```js block of a Markdown file, with its types stripped so Node runs it. */
function firstExample(markdown: string): string {
  const m = /```(?:ts|typescript|js|javascript)\n([\s\S]*?)```/.exec(markdown);
  if (!m) throw new Error('no ts/js code block');
  return esbuild.transformSync(m[1]!, { loader: 'ts', format: 'esm' }).code;
}

beforeAll(() => {
  for (const dir of [modelDir, datapathDir]) {
    if (!existsSync(join(dir, 'dist', 'index.js'))) throw new Error(`${dir} is not built: run \`pnpm build\` first`);
  }
  project = mkdtempSync(join(tmpdir(), 'kube-netsim-pack-'));
  sh('pnpm', ['pack', '--pack-destination', project], modelDir);
  sh('pnpm', ['pack', '--pack-destination', project], datapathDir);
  const tarball = (name: string) => `file:./${readdirSync(project).find((f) => f.startsWith(`kube-netsim-${name}-`) && f.endsWith('.tgz'))!}`;
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'pack-test', version: '1.0.0', private: true, type: 'module', dependencies: { '@kube-netsim/model': tarball('model'), '@kube-netsim/datapath': tarball('datapath') } }),
  );
  // The model's tarball depends on @kube-netsim/datapath by version; point that at the local tarball too.
  writeFileSync(join(project, 'pnpm-workspace.yaml'), `overrides:\n  "@kube-netsim/datapath": "${tarball('datapath')}"\n`);
  sh('pnpm', ['install', '--offline', '--ignore-scripts'], project);
}, 120_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the packed package, installed offline outside the workspace', () => {
  it('ships its files and the example cluster, and no sources or tests', () => {
    const root = join(project, 'node_modules', '@kube-netsim', 'model');
    expect(existsSync(join(root, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(root, 'examples', 'shop.yaml'))).toBe(true);
    expect(existsSync(join(root, 'src'))).toBe(false);
    expect(existsSync(join(root, 'test'))).toBe(false);
  });

  it.each(subpaths)('%s imports alone in Node and exports something', (subpath) => {
    const out = sh('node', ['--input-type=module', '-e', `const m = await import(${JSON.stringify(subpath)}); console.log(JSON.stringify(Object.keys(m)))`], project);
    expect((JSON.parse(out) as string[]).length).toBeGreaterThan(0);
  });

  it.each(subpaths)('%s bundles for the browser with no Node built-ins, CLI code or (outside manifests) YAML parser', async (subpath) => {
    const { inputs, imports } = await bundle(subpath);
    expect(imports.filter((p) => p.startsWith('node:'))).toEqual([]);
    expect(inputs.filter((p) => p.includes('apps/cli') || p.includes('commander') || p.includes('cli-table3'))).toEqual([]);
    if (!MAY_USE_YAML.has(subpath)) expect(inputs.filter(isYamlParser)).toEqual([]);
  });

  it('the manifests subpath does bring the YAML parser (so the check above can see one)', async () => {
    expect((await bundle('@kube-netsim/model/manifests')).inputs.some(isYamlParser)).toBe(true);
  });

  it('runs the README example against the installed package and prints exactly the output the README shows', () => {
    const markdown = readFileSync(join(modelDir, 'README.md'), 'utf8');
    writeFileSync(join(project, 'example.mjs'), firstExample(markdown));
    const out = sh('node', ['example.mjs'], project);
    // The README shows the (seeded, so deterministic) output in the text block right after the example.
    const shown = /```(?:ts|typescript|js|javascript)\n[\s\S]*?```\s*```text\n([\s\S]*?)```/.exec(markdown)?.[1];
    expect(shown).toBeDefined();
    expect(out.trim()).toBe(shown!.trim());
  });

  it('type-checks a TypeScript consumer against the shipped declarations', () => {
    const consumer = [
      "import { readManifests, writeManifests } from '@kube-netsim/model/manifests';",
      "import { type Cluster, buildCluster, resolveClusterConfig } from '@kube-netsim/model/cluster';",
      "import { CIDR } from '@kube-netsim/model/ip';",
      "import type { ClusterInput } from '@kube-netsim/model';",
      "const input: ClusterInput = readManifests([{ file: 'a.yaml', text: '' }]);",
      'const cluster: Cluster = buildCluster(input);',
      "const size: number = CIDR.parse('10.0.0.0/16').size;",
      'const yaml: string = writeManifests(cluster);',
      'const zones: string[] = resolveClusterConfig().zones;',
      'export { size, yaml, zones };',
    ].join('\n');
    writeFileSync(join(project, 'consumer.ts'), consumer);
    const tsc = createRequire(join(modelDir, 'package.json')).resolve('typescript/bin/tsc');
    const check = (file: string) => spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', file], { cwd: project, encoding: 'utf8' });
    const ok = check('consumer.ts');
    expect(ok.stdout + ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    // And a wrong use is caught, so the declarations are really read.
    writeFileSync(join(project, 'wrong.ts'), "import { readManifests } from '@kube-netsim/model/manifests';\nconst n: number = readManifests([]);\nexport { n };\n");
    expect(check('wrong.ts').stdout).toMatch(/TS2322/);
  });

  it('reads the shipped example through the package exports', () => {
    const script = [
      "import { readFileSync } from 'node:fs';",
      "import { createRequire } from 'node:module';",
      "import { readManifests } from '@kube-netsim/model/manifests';",
      "const file = createRequire(import.meta.url).resolve('@kube-netsim/model/examples/shop.yaml');",
      "const input = readManifests([{ file, text: readFileSync(file, 'utf8') }]);",
      'console.log(JSON.stringify({ deployments: input.deployments.map((d) => d.metadata.name), mode: input.kubeProxyConfiguration?.mode }));',
    ].join('\n');
    writeFileSync(join(project, 'shop.mjs'), script);
    expect(JSON.parse(sh('node', ['shop.mjs'], project))).toEqual({ deployments: ['coredns', 'web', 'api'], mode: 'iptables' });
  });
});
