import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterInput } from '@kube-netsim/model';
import { type Cluster, buildCluster } from '@kube-netsim/model/cluster';
import { type ManifestSource, readManifests } from '@kube-netsim/model/manifests';
import { UsageError } from './exit.js';

/** Where `-f -` reads from; tests pass their own. */
export type ReadStdin = () => Promise<string>;

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i;

/**
 * Reads the files behind `-f` as kubectl does: a file, `-` for stdin, or a directory (its `.yaml`, `.yml` and
 * `.json` files, sorted by name, not recursive). A path that cannot be read is a UsageError naming it.
 */
export async function readSources(paths: string[], stdin: ReadStdin = readProcessStdin): Promise<ManifestSource[]> {
  const sources: ManifestSource[] = [];
  for (const path of paths) {
    if (path === '-') {
      sources.push({ file: '<stdin>', text: await stdin() });
      continue;
    }
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(path)).isDirectory();
    } catch (e) {
      throw new UsageError(`cannot read ${path}: ${describeFsError(e)}`);
    }
    const files = isDirectory
      ? (await readdir(path)).filter((f) => MANIFEST_EXTENSIONS.test(f)).sort().map((f) => join(path, f))
      : [path];
    if (isDirectory && files.length === 0) throw new UsageError(`${path} has no .yaml, .yml or .json files`);
    for (const file of files) {
      try {
        sources.push({ file, text: await readFile(file, 'utf8') });
      } catch (e) {
        throw new UsageError(`cannot read ${file}: ${describeFsError(e)}`);
      }
    }
  }
  return sources;
}

function describeFsError(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return e instanceof Error ? e.message : String(e);
}

/** Reads the files into a ClusterInput (YAML and schema errors are KubeNetsimErrors with file:line:column). */
export async function readInput(paths: string[], stdin?: ReadStdin): Promise<ClusterInput> {
  return readManifests(await readSources(paths, stdin));
}

/** Reads the files and builds the cluster: the steady state after the controllers have settled. */
export async function loadClusterFromFiles(paths: string[], stdin?: ReadStdin): Promise<Cluster> {
  return buildCluster(await readInput(paths, stdin));
}

/** Builds a cluster from an already-read input (the `demo` command reads the shipped example this way). */
export function clusterFromInput(input: ClusterInput): Cluster {
  return buildCluster(input);
}
