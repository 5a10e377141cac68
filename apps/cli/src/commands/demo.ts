import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { type Command, Option } from 'commander';
import type { Pod } from '@kube-netsim/model';
import { podListeners, podPortConflicts } from '@kube-netsim/model/cluster';
import { type DNSResponse, type Resolution, type ResolvConf, resolve } from '@kube-netsim/model/dns';
import { readManifests, writeManifests } from '@kube-netsim/model/manifests';
import type { Io } from '../io.js';
import { clusterFromInput } from '../load.js';
import { type Section, type SectionContext, heading, pc, renderSections, table } from '../output.js';
import { CNI_SECTION } from './cni.js';
import { INVENTORY_SECTIONS } from './inspect.js';

/** The example the demo runs: shipped in @kube-netsim/model as `examples/shop.yaml`. */
export function examplePath(): string {
  return createRequire(import.meta.url).resolve('@kube-netsim/model/examples/shop.yaml');
}

/** Names the demo resolves from a web pod: a Service, a headless Service, a StatefulSet pod, another namespace, the Internet. */
const DEMO_NAMES = ['api', 'redis', 'redis-0.redis', 'kube-dns.kube-system', 'api.github.com'];

/** `--json` shape of the demo's `dns` section. */
export interface DemoDnsJson {
  /** `ns/name` of the pod the names are resolved from. */
  from: string;
  resolvConf: { nameservers: string[]; searches: string[]; options: string[] };
  queries: { query: string; answeredBy: string; status: string; addresses: string[]; lookups: number }[];
}

/** `--json` shape of one entry of the demo's `localhost` section. */
export interface DemoLocalhostJson {
  pod: string;
  /** What `localhost:<port>` reaches from any container of the pod. */
  listeners: { port: number; protocol: string; container: string }[];
  /** Ports two containers want: all but the first would fail with "address already in use". */
  conflicts: { port: number; protocol: string; containers: string[]; message: string }[];
}

function firstPod(ctx: SectionContext, namespace: string, prefix: string): Pod | undefined {
  return ctx.cluster.pods(namespace).find((p) => p.metadata.name.startsWith(prefix) && p.status?.phase === 'Running');
}

function describeAnswer(r: DNSResponse): { text: string; addresses: string[] } {
  const addresses = r.records.flatMap((x) => (x.type === 'A' ? [x.address] : []));
  if (r.status === 'FORWARDED') return { text: pc.dim('forwarded upstream (outside the cluster and the VPC)'), addresses };
  if (r.status !== 'NOERROR' || addresses.length === 0) return { text: pc.red(r.status === 'NOERROR' ? 'no records' : r.status), addresses };
  return { text: addresses.join(', '), addresses };
}

/** Resolves the demo's names from the first running web pod, as its resolver would. */
function demoLookups(ctx: SectionContext): { pod: Pod; resolutions: Resolution[] } | undefined {
  const pod = firstPod(ctx, 'shop', 'web-');
  return pod ? { pod, resolutions: DEMO_NAMES.map((name) => resolve(ctx.cluster, pod, name)) } : undefined;
}

function formatConf(conf: ResolvConf): DemoDnsJson['resolvConf'] {
  return { nameservers: conf.nameservers, searches: conf.searches, options: conf.options.map((o) => (o.value === undefined ? o.name : `${o.name}:${o.value}`)) };
}

function dnsJson(ctx: SectionContext): DemoDnsJson | null {
  const lookups = demoLookups(ctx);
  if (!lookups) return null;
  return {
    from: `${lookups.pod.metadata.namespace}/${lookups.pod.metadata.name}`,
    resolvConf: formatConf(lookups.resolutions[0]!.conf),
    queries: lookups.resolutions.map((r) => ({
      query: r.query,
      answeredBy: r.answer.name,
      status: r.answer.status,
      addresses: describeAnswer(r.answer).addresses,
      lookups: r.tried.length,
    })),
  };
}

function localhostJson(ctx: SectionContext): DemoLocalhostJson[] {
  return ctx.cluster
    .pods()
    .filter((p) => !p.spec.hostNetwork && p.spec.containers.length > 1)
    .map((p) => ({
      pod: `${p.metadata.namespace}/${p.metadata.name}`,
      listeners: podListeners(p).map((l) => ({ port: l.port, protocol: l.protocol, container: l.container })),
      conflicts: podPortConflicts(p).map((c) => ({ port: c.port, protocol: c.protocol, containers: c.listeners.map((l) => l.container), message: c.message })),
    }));
}

/** The example's highlights: how names resolve from a web pod, and what localhost means inside an api pod. */
export const SHOP_SECTIONS: Section[] = [
  {
    name: 'dns',
    json: dnsJson,
    text: (ctx) => {
      const lookups = demoLookups(ctx);
      if (!lookups) return '';
      const conf = formatConf(lookups.resolutions[0]!.conf);
      const rows = lookups.resolutions.map((r) => {
        const cost = r.tried.length > 1 ? pc.yellow(`${r.tried.length} lookups`) : '1 lookup';
        return [r.query, r.answer.status === 'FORWARDED' ? pc.dim(r.answer.name) : r.answer.name, describeAnswer(r.answer).text, cost];
      });
      return [
        `${heading('DNS')} ${pc.dim(`from ${lookups.pod.metadata.namespace}/${lookups.pod.metadata.name}`)}`,
        pc.dim(`  nameserver ${conf.nameservers.join(' ')} · search ${conf.searches.join(' ')} · ${conf.options.join(' ')}`),
        table(['NAME', 'ANSWERED AS', 'ADDRESSES', 'COST'], rows),
        pc.dim('  ndots:5 sends a name with fewer than 5 dots through the search list first: append a dot (api.github.com.) to skip it.'),
      ].join('\n');
    },
  },
  {
    name: 'localhost',
    json: localhostJson,
    text: (ctx) => {
      const pods = localhostJson(ctx);
      if (pods.length === 0) return '';
      const rows = pods.flatMap((p) => [
        ...p.listeners.map((l) => [p.pod, `localhost:${l.port}/${l.protocol}`, `container ${l.container}`]),
        ...p.conflicts.map((c) => [p.pod, `localhost:${c.port}/${c.protocol}`, pc.red(`${c.containers.join(' and ')}: ${c.message}`)]),
      ]);
      return [
        `${heading('localhost')} ${pc.dim('(containers of a pod share one network namespace; declared ports are taken as listening)')}`,
        table(['POD', 'ADDRESS', 'REACHES'], rows),
      ].join('\n');
    },
  },
];

/** What `demo` prints, in order. Later features append their sections here. */
export const DEMO_SECTIONS: Section[] = [...INVENTORY_SECTIONS, CNI_SECTION, ...SHOP_SECTIONS];

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
