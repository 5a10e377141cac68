import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { type Command, Option } from 'commander';
import { readManifests, writeManifests } from '@kube-netsim/model/manifests';
import type { Io } from '../io.js';
import { clusterFromInput } from '../load.js';
import { type Section, pc, renderSections } from '../output.js';
import { INVENTORY_SECTIONS } from './inspect.js';

/** The example the demo runs: shipped in @kube-netsim/model as `examples/shop.yaml`. */
export function examplePath(): string {
  return createRequire(import.meta.url).resolve('@kube-netsim/model/examples/shop.yaml');
}

/** What `demo` prints, in order. Later features append their sections here. */
export const DEMO_SECTIONS: Section[] = [...INVENTORY_SECTIONS];

export function registerDemo(program: Command, io: Io): void {
  program
    .command('demo')
    .description('Build the built-in example cluster (a shop on EKS: web, api, redis, CoreDNS) and show it')
    .option('--json', 'print the report as JSON')
    .addOption(new Option('--yaml', 'print the built cluster as YAML manifests (allocations and pod status included)').conflicts('json'))
    .option('--example', 'print the example manifests instead: save them, edit them, then `kube-netsim inspect -f`')
    .action(async (options: { json?: boolean; yaml?: boolean; example?: boolean }) => {
      const file = examplePath();
      const text = await readFile(file, 'utf8');
      if (options.example) {
        io.out(text);
        return;
      }
      const input = readManifests([{ file: 'shop.yaml', text }]);
      const cluster = clusterFromInput(input);
      if (options.yaml) {
        io.out(writeManifests(cluster));
        return;
      }
      const json = options.json === true;
      renderSections(io, DEMO_SECTIONS, { cluster, input }, json);
      if (!json) {
        io.out(
          `\n${pc.dim('Make it yours:')}  kube-netsim demo --example > shop.yaml   ${pc.dim('# edit it, then')}   kube-netsim inspect -f shop.yaml\n`,
        );
      }
    });
}
