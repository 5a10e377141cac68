import { type Command, Option } from 'commander';
import type { ClusterInput, EndpointSlice, Pod, Service } from '@kube-netsim/model';
import { hostNetworkConflicts, podPortConflicts } from '@kube-netsim/model/cluster';
import { writeManifests } from '@kube-netsim/model/manifests';
import type { Io } from '../io.js';
import { clusterFromInput, readInput } from '../load.js';
import { type Section, type SectionContext, colorStatus, formatPortMapping, heading, pc, renderSections, table } from '../output.js';

// The cluster's inventory: what `kubectl get nodes,pods,svc,endpointslices -A -o wide` would show, plus what the
// simulator skipped. `inspect` prints it for the given files; `demo` for the shipped example.

/** `--json` shape of the `cluster` section. */
export interface ClusterSummaryJson {
  name: string;
  region: string;
  zones: string[];
  vpcCIDRs: string[];
  serviceCIDR: string;
  clusterDomain: string;
  /** kube-proxy's mode (`iptables` when the configuration leaves it empty, as kube-proxy does on Linux). */
  proxyMode: string;
  /** The pod IPAM: `aws-vpc-cni` or `host-local`. */
  ipam: string;
  /** Simulated seconds the controllers ran to reach this state. */
  settledAfterSeconds: number;
}

/** `--json` shape of one entry of `nodes`. */
export interface NodeJson {
  name: string;
  internalIP: string | null;
  instanceType: string | null;
  zone: string | null;
  /** Pods bound to the node, hostNetwork ones included (they count against max pods too). */
  pods: number;
  maxPods: number;
}

/** `--json` shape of one entry of `pods`. */
export interface PodJson {
  namespace: string;
  name: string;
  ip: string | null;
  node: string | null;
  hostNetwork: boolean;
  /** `status.phase`. */
  phase: string;
  /** What kubectl's STATUS column shows: Terminating, the waiting reason (ContainerCreating), or the phase. */
  status: string;
  ready: boolean;
  /** Why the pod is not running (the scheduler's or the CNI's message), when it is not. */
  message: string | null;
}

/** `--json` shape of one entry of `services`. */
export interface ServiceJson {
  namespace: string;
  name: string;
  type: string;
  /** `None` for a headless Service, null for ExternalName. */
  clusterIP: string | null;
  externalName: string | null;
  ports: { name: string | null; port: number; protocol: string; targetPort: number | string; nodePort: number | null }[];
  /** Each endpoint address with its ports, as kube-proxy reads the EndpointSlices (absent ready/serving = true). */
  endpoints: { ip: string; ports: number[]; ready: boolean; serving: boolean; terminating: boolean; node: string | null; pod: string | null }[];
}

/** `--json` shape of one entry of `warnings`: something that would fail in a real cluster although it was accepted. */
export interface WarningJson {
  /** `Pod shop/api-…` or `Node ip-….compute.internal`. */
  object: string;
  message: string;
}

/** `--json` shape of one entry of `ignored`. */
export interface IgnoredJson {
  kind: string;
  name: string;
  apiVersion: string | null;
  reason: string | null;
  /** `file:line:column`. */
  at: string | null;
}

export function podStatus(pod: Pod): { status: string; message: string | null; ready: boolean } {
  const conditions = pod.status?.conditions ?? [];
  const ready = conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  const unscheduled = conditions.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  const message = pod.status?.message ?? unscheduled?.message ?? null;
  if (pod.metadata.deletionTimestamp) return { status: 'Terminating', message, ready };
  return { status: pod.status?.reason ?? pod.status?.phase ?? 'Pending', message, ready };
}

function nodeJson(ctx: SectionContext): NodeJson[] {
  const { cluster } = ctx;
  return cluster.nodes().map((n) => ({
    name: n.metadata.name,
    internalIP: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? cluster.nodeNetwork(n.metadata.name)?.internalIP ?? null,
    instanceType: n.metadata.labels?.['node.kubernetes.io/instance-type'] ?? null,
    zone: n.metadata.labels?.['topology.kubernetes.io/zone'] ?? null,
    pods: cluster.podsOnNode(n.metadata.name).length,
    maxPods: cluster.maxPods(n.metadata.name),
  }));
}

function podJson(ctx: SectionContext): PodJson[] {
  return ctx.cluster.pods(ctx.namespace).map((p) => {
    const s = podStatus(p);
    return {
      namespace: p.metadata.namespace ?? 'default',
      name: p.metadata.name,
      ip: p.status?.podIP ?? null,
      node: p.spec.nodeName ?? null,
      hostNetwork: p.spec.hostNetwork === true,
      phase: p.status?.phase ?? 'Pending',
      status: s.status,
      ready: s.ready,
      message: s.status === 'Running' ? null : s.message,
    };
  });
}

function endpointsOf(slices: EndpointSlice[]): ServiceJson['endpoints'] {
  const out: ServiceJson['endpoints'] = [];
  for (const slice of slices) {
    const ports = [...new Set((slice.ports ?? []).map((p) => p.port).filter((p): p is number => p !== undefined))];
    for (const ep of slice.endpoints) {
      // kube-proxy's reading of absent conditions: ready and serving unless said otherwise, not terminating.
      const ready = ep.conditions?.ready ?? true;
      const serving = ep.conditions?.serving ?? ready;
      const terminating = ep.conditions?.terminating ?? false;
      for (const ip of ep.addresses) {
        out.push({ ip, ports, ready, serving, terminating, node: ep.nodeName ?? null, pod: ep.targetRef?.kind === 'Pod' ? ep.targetRef.name : null });
      }
    }
  }
  return out;
}

function serviceJson(ctx: SectionContext): ServiceJson[] {
  return ctx.cluster.services(ctx.namespace).map((s: Service) => ({
    namespace: s.metadata.namespace ?? 'default',
    name: s.metadata.name,
    type: s.spec.type ?? 'ClusterIP',
    clusterIP: s.spec.type === 'ExternalName' ? null : (s.spec.clusterIP ?? null),
    externalName: s.spec.externalName ?? null,
    ports: (s.spec.ports ?? []).map((p) => ({
      name: p.name ?? null,
      port: p.port,
      protocol: p.protocol ?? 'TCP',
      targetPort: p.targetPort ?? p.port,
      nodePort: p.nodePort ?? null,
    })),
    endpoints: endpointsOf(ctx.cluster.endpointSlices(s.metadata.namespace ?? 'default', s.metadata.name)),
  }));
}

function warningJson(ctx: SectionContext): WarningJson[] {
  const conflicts = [...ctx.cluster.pods().filter((p) => !p.spec.hostNetwork).flatMap(podPortConflicts), ...hostNetworkConflicts(ctx.cluster)];
  return conflicts.map((c) => {
    const who = c.listeners.map((l) => (l.pod === c.where ? `container ${l.container}` : `${l.pod} (${l.container})`));
    return {
      object: c.where,
      message: `${who.join(' and ')} both listen on ${c.protocol} ${c.port}: all but the first fail with "${c.message}"`,
    };
  });
}

function ignoredJson(input: ClusterInput): IgnoredJson[] {
  return input.ignored.map((i) => ({
    kind: i.kind,
    name: i.name,
    apiVersion: i.apiVersion ?? null,
    reason: i.reason ?? null,
    at: i.position ? `${i.position.file}:${i.position.line}:${i.position.column}` : null,
  }));
}

function summaryJson(ctx: SectionContext): ClusterSummaryJson {
  const { cluster } = ctx;
  const c = cluster.config;
  return {
    name: c.name,
    region: c.region,
    zones: c.zones,
    vpcCIDRs: c.vpcCIDRs,
    serviceCIDR: c.serviceCIDR,
    clusterDomain: c.clusterDomain,
    proxyMode: cluster.kubeProxyConfiguration?.mode || 'iptables',
    ipam: cluster.ipam.name,
    settledAfterSeconds: cluster.now,
  };
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const nsName = (ns: string, name: string) => `${pc.dim(`${ns}/`)}${name}`;

function clusterIPCell(s: ServiceJson): string {
  if (s.type === 'ExternalName') return `→ ${s.externalName}`;
  return s.clusterIP === 'None' ? pc.dim('None (headless)') : (s.clusterIP ?? '-');
}

/** One endpoint a line: `IP:ports`, marked when terminating or not ready. */
function endpointsCell(s: ServiceJson): string {
  if (s.type === 'ExternalName') return pc.dim('(DNS CNAME)');
  if (s.endpoints.length === 0) {
    // `kubernetes` points at the control plane, which the simulator does not run.
    return s.namespace === 'default' && s.name === 'kubernetes' ? pc.dim('(the API server, outside the simulation)') : pc.red('<none>');
  }
  return s.endpoints
    .map((e) => {
      const addr = `${e.ip}:${e.ports.join(',') || '*'}`;
      if (e.terminating) return `${addr} ${colorStatus('terminating')}`;
      return e.ready ? addr : `${addr} ${pc.red('not ready')}`;
    })
    .join('\n');
}

/** The cluster's inventory, in the order `inspect` and `demo` print it. */
export const INVENTORY_SECTIONS: Section[] = [
  {
    name: 'cluster',
    json: summaryJson,
    text: (ctx) => {
      const s = summaryJson(ctx);
      const pods = ctx.cluster.pods();
      const running = pods.filter((p) => p.status?.phase === 'Running').length;
      const lines = [
        `${pc.bold(`Cluster ${s.name}`)} ${pc.dim('·')} ${s.region} ${pc.dim('·')} zones ${s.zones.join(', ')}`,
        `  VPC ${s.vpcCIDRs.join(', ')}   Services ${s.serviceCIDR}   DNS ${s.clusterDomain}`,
        `  kube-proxy ${pc.cyan(s.proxyMode)} mode   pod IPs from ${pc.cyan(s.ipam)}   ${plural(ctx.cluster.nodes().length, 'node')}, ${running}/${plural(pods.length, 'pod')} running`,
      ];
      return lines.join('\n');
    },
  },
  {
    name: 'nodes',
    json: nodeJson,
    text: (ctx) => {
      const nodes = nodeJson(ctx);
      if (nodes.length === 0) return `${heading('Nodes', 0)}\n  ${pc.dim('none: give a ClusterConfig with node groups, or Node objects')}`;
      return `${heading('Nodes', nodes.length)}\n${table(
        ['NAME', 'INTERNAL-IP', 'INSTANCE-TYPE', 'ZONE', 'PODS'],
        nodes.map((n) => [n.name, n.internalIP ?? '-', n.instanceType ?? '-', n.zone ?? '-', `${n.pods}/${n.maxPods}`]),
      )}`;
    },
  },
  {
    name: 'pods',
    json: podJson,
    text: (ctx) => {
      const pods = podJson(ctx);
      const body = table(
        ['NAMESPACE/NAME', 'STATUS', 'IP', 'NODE'],
        pods.map((p) => [
          nsName(p.namespace, p.name),
          colorStatus(p.status),
          p.ip ? (p.hostNetwork ? `${p.ip} ${pc.dim('(host)')}` : p.ip) : pc.dim('<none>'),
          p.node ?? pc.dim('<none>'),
        ]),
      );
      const why = pods.filter((p) => p.message).map((p) => `  ${p.namespace}/${p.name}: ${pc.yellow(p.message!)}`);
      return [`${heading('Pods', pods.length)}`, body, ...(why.length ? ['', pc.dim('Not running:'), ...why] : [])].join('\n');
    },
  },
  {
    name: 'services',
    json: serviceJson,
    text: (ctx) => {
      const services = serviceJson(ctx);
      const rows = services.map((s) => [
        nsName(s.namespace, s.name),
        s.type,
        clusterIPCell(s),
        s.ports.map((p) => formatPortMapping(p.port, p.protocol, p.targetPort)).join('\n') || '-',
        // One line per port, so each NodePort sits beside its port.
        s.ports.some((p) => p.nodePort) ? s.ports.map((p) => (p.nodePort ? String(p.nodePort) : pc.dim('-'))).join('\n') : pc.dim('-'),
        endpointsCell(s),
      ]);
      return `${heading('Services', services.length)}\n${table(['NAMESPACE/NAME', 'TYPE', 'CLUSTER-IP', 'PORTS', 'NODE-PORTS', 'ENDPOINTS'], rows)}`;
    },
  },
  {
    name: 'warnings',
    json: warningJson,
    text: (ctx) => {
      const warnings = warningJson(ctx);
      if (warnings.length === 0) return '';
      return [heading('Warnings', warnings.length), ...warnings.map((w) => `  ${w.object}: ${pc.yellow(w.message)}`)].join('\n');
    },
  },
  {
    name: 'ignored',
    json: (ctx) => ignoredJson(ctx.input),
    text: (ctx) => {
      const ignored = ignoredJson(ctx.input);
      if (ignored.length === 0) return '';
      return `${heading('Ignored', ignored.length)} ${pc.dim('(read, not simulated)')}\n${table(
        ['KIND', 'NAME', 'WHY', 'AT'],
        ignored.map((i) => [i.kind, i.name || '-', i.reason ?? '', i.at ?? '']),
      )}`;
    },
  },
];

export function registerInspect(program: Command, io: Io): void {
  program
    .command('inspect')
    .description('Build the cluster your manifests describe and list its nodes, pods, Services and endpoints')
    .requiredOption('-f, --filename <file...>', 'manifest files or directories (YAML/JSON; `-` for stdin), as kubectl takes them')
    .option('-n, --namespace <namespace>', 'only this namespace\'s pods and Services (nodes and the cluster summary stay whole)')
    .option('--json', 'print the inventory as JSON (shape documented in the CLI README)')
    .addOption(new Option('--yaml', 'print the built cluster as YAML manifests: allocated ClusterIPs and NodePorts, pods with their IPs, nodes and status').conflicts('json'))
    .addHelpText(
      'after',
      '\nExamples:\n  kube-netsim inspect -f cluster.yaml -f app/\n  kubectl get deploy,svc,pods -A -o yaml | kube-netsim inspect -f - --json\n  kube-netsim inspect -f shop.yaml --yaml > settled.yaml',
    )
    .action(async (options: { filename: string[]; namespace?: string; json?: boolean; yaml?: boolean }) => {
      const input = await readInput(options.filename);
      const cluster = clusterFromInput(input);
      if (options.yaml) io.out(writeManifests(cluster));
      else renderSections(io, INVENTORY_SECTIONS, { cluster, input, ...(options.namespace ? { namespace: options.namespace } : {}) }, options.json === true);
    });
}
