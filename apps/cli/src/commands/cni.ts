import { type Command, Option } from 'commander';
import type { AwsNodeEnv, ClusterInput } from '@kube-netsim/model';
import {
  type IpamdLogLine,
  type NodeIpamStatus,
  type PlanResult,
  type PlanRun,
  type SubnetStatus,
  VpcCni,
  findInstanceLimits,
  instanceLimits,
  knownInstanceTypes,
  maxPods,
  planAddresses,
  renderIpRoutes,
  renderIpRules,
  supportsPrefixDelegation,
} from '@kube-netsim/model/cni';
import type { Cluster } from '@kube-netsim/model/cluster';
import { intToIPv4, ipv4ToInt } from '@kube-netsim/model/ip';
import { printSaveTable } from '@kube-netsim/model/proxy';
import { UsageError } from '../exit.js';
import type { Io } from '../io.js';
import { clusterFromInput, readInput } from '../load.js';
import { type Section, type SectionContext, heading, pc, printJson, table } from '../output.js';

// `kube-netsim cni …`: the Amazon VPC CNI's arithmetic and state — max pods per instance type, each node's ENIs
// and addresses, and an address plan for a node group driven by the simulated ipamd.

const collect = (value: string, previous: string[]) => [...previous, value];

function positiveInt(flag: string, min = 0): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`${flag} expects an integer ≥ ${min}, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

// ---- max-pods --------------------------------------------------------------------------------------------------

interface MaxPodsOptions {
  instanceType: string[];
  all?: boolean;
  prefixDelegation?: boolean;
  customNetworking?: boolean;
  capVcpus?: number;
  maxEni?: number;
  json?: boolean;
}

function maxPodsCommand(io: Io, o: MaxPodsOptions): void {
  if (!o.all && o.instanceType.length === 0) throw new UsageError('give --instance-type TYPE (repeatable) or --all');
  const types = o.all ? knownInstanceTypes() : o.instanceType.map((t) => instanceLimits(t.trim()).instanceType);
  const options = {
    ...(o.prefixDelegation ? { prefixDelegation: true } : {}),
    ...(o.customNetworking ? { customNetworking: true } : {}),
    ...(o.capVcpus !== undefined ? { capVCPUs: o.capVcpus } : {}),
    ...(o.maxEni !== undefined ? { maxENI: o.maxEni } : {}),
  };
  const { capVCPUs: _cap, ...uncappedOptions } = options as typeof options & { capVCPUs?: number };
  const rows = types.map((type) => {
    const l = findInstanceLimits(type)!;
    return { l, value: maxPods(l, options), uncapped: maxPods(l, uncappedOptions) };
  });
  if (o.json) {
    printJson(io, Object.fromEntries(rows.map((r) => [r.l.instanceType, r.value])));
    return;
  }
  const body = table(
    ['INSTANCE-TYPE', 'ENIS', 'IPV4/ENI', 'HYPERVISOR', 'MAX-PODS'],
    rows.map(({ l, value }) => [l.instanceType, l.eniLimit, l.ipv4PerEni, l.isBareMetal ? `${l.hypervisor} (metal)` : l.hypervisor, pc.bold(String(value))]),
  );
  const notes: string[] = [];
  if (!o.all) {
    for (const { l, value, uncapped } of rows) notes.push(formulaLine(l.instanceType, l.eniLimit, l.ipv4PerEni, o, supportsPrefixDelegation(l), uncapped, value));
  }
  notes.push(
    pc.dim(
      'The +2 is for the host-network pods aws-node and kube-proxy. Without --cap-vcpus the value is uncapped, as in eni-max-pods.txt and the EKS AMI default.',
    ),
  );
  io.out(`${body}\n\n${notes.join('\n')}\n`);
}

function formulaLine(type: string, enis: number, ipv4: number, o: MaxPodsOptions, pdSupported: boolean, uncapped: number, value: number): string {
  const used = o.maxEni !== undefined && o.maxEni >= 1 && o.maxEni < enis ? o.maxEni : enis;
  const e = o.customNetworking ? `(${used} − 1)` : `${used}`;
  const pd = o.prefixDelegation && pdSupported;
  let line = `${type}: ${e} ENIs × (${ipv4} − 1)${pd ? ' × 16' : ''} + 2 = ${uncapped}`;
  if (o.prefixDelegation && !pdSupported) line += pc.yellow(' (prefix delegation needs Nitro or bare metal: secondary IPs)');
  if (o.capVcpus !== undefined) line += `; capped at ${o.capVcpus > 30 ? 250 : 110} for ${o.capVcpus} vCPUs → ${value}`;
  return line;
}

// ---- ipam ------------------------------------------------------------------------------------------------------

/** The cluster of the files, whose IPAM is the VPC CNI for EKS-style input; kubenet-style input has none. */
function vpcCniCluster(input: ClusterInput): { cluster: Cluster; cni: VpcCni } {
  const cluster = clusterFromInput(input);
  if (!(cluster.ipam instanceof VpcCni)) {
    throw new UsageError(`pod IPs come from ${cluster.ipam.name}, not the VPC CNI: these nodes carry spec.podCIDR and there is neither a ClusterConfig nor an aws-node DaemonSet`);
  }
  return { cluster, cni: cluster.ipam };
}

/** `--json` shape of `kube-netsim cni ipam`. */
export interface CniIpamJson {
  nodes: NodeIpamStatus[];
  subnets: SubnetStatus[];
  /** ipamd's warnings and errors (ENI attach failures, subnet shortages, fallbacks), oldest first. */
  events: IpamdLogLine[];
}

function ipamJson(cni: VpcCni, node?: string): CniIpamJson {
  const names = node ? [node] : cni.nodeNames();
  return {
    nodes: names.map((n) => cni.nodeStatus(n)),
    subnets: cni.subnetStatus(),
    events: cni.events(node).filter((l) => l.level === 'warn' || l.level === 'error'),
  };
}

/** `10.0.0.5-10.0.0.13, 10.0.0.20`: runs of consecutive addresses folded. */
export function foldAddresses(ips: string[]): string {
  const ints = ips.map(ipv4ToInt).sort((a, b) => a - b);
  const text = intToIPv4;
  const parts: string[] = [];
  for (let i = 0; i < ints.length; ) {
    let j = i;
    while (j + 1 < ints.length && ints[j + 1] === ints[j]! + 1) j++;
    parts.push(j > i ? `${text(ints[i]!)}-${text(ints[j]!)}` : text(ints[i]!));
    i = j + 1;
  }
  return parts.join(', ');
}

function nodeText(s: NodeIpamStatus): string {
  const mode = s.mode === 'prefix-delegation' ? 'prefix delegation' : s.prefixDelegationFallback ? `secondary IPs ${pc.yellow('(prefix delegation unsupported here)')}` : 'secondary IPs';
  const custom = s.customNetworking ? `, custom networking (ENIConfig ${s.eniConfig ?? '-'} → ${s.podSubnetId ?? pc.red('no subnet')})` : '';
  const head = `${pc.bold(s.nodeName)} ${pc.dim(`${s.instanceType} · node IP ${s.nodeIP} · ${s.subnetId} · ${mode}${custom} · max pods ${s.maxPods}`)}`;
  const low = s.poolTooLow ? pc.dim(' — below its warm target: ipamd grows it on its next 5 s tick') : '';
  const counts = `  ${s.totalIPs} addresses in the pool: ${pc.green(`${s.assigned} assigned`)}, ${s.warm} warm, ${s.cooling ? pc.yellow(`${s.cooling} cooling`) : '0 cooling'}${low}`;
  const rows = s.enis.map((e) => [
    e.interfaceName,
    e.id,
    `${e.subnetId} ${pc.dim(e.subnetCIDR)}`,
    e.primaryIP,
    String(e.routeTable),
    e.prefixes.length ? e.prefixes.join(', ') : e.secondaryIPs.length ? foldAddresses(e.secondaryIPs) : pc.dim(e.isPrimary && s.customNetworking ? '(no pods on the primary ENI)' : '-'),
    `${e.assigned}/${e.secondaryIPs.length + 16 * e.prefixes.length}`,
    String(e.cooling),
  ]);
  return `${head}\n${counts}\n${indent(table(['DEVICE', 'ENI', 'SUBNET', 'PRIMARY-IP', 'TABLE', s.mode === 'prefix-delegation' ? 'PREFIXES' : 'SECONDARY-IPS', 'USED', 'COOLING'], rows))}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

function subnetsText(subnets: SubnetStatus[]): string {
  return `${heading('Subnets', subnets.length)}\n${table(
    ['SUBNET', 'CIDR', 'ZONE', 'SIZE', 'AWS-RESERVED', 'IN-USE', 'FREE', 'FREE-/28S'],
    subnets.map((s) => [s.id, s.cidr, s.zone, s.size, s.reserved, s.inUse, s.free === 0 ? pc.red('0') : s.free, s.freePrefixBlocks]),
  )}`;
}

function eventsText(events: IpamdLogLine[]): string {
  if (events.length === 0) return '';
  // Repeats (a kubelet retrying every tick) fold into one line with a count and a time span, as kubectl's events do.
  const groups = new Map<string, { first: IpamdLogLine; last: number; count: number }>();
  for (const l of events) {
    const key = `${l.node}\u0000${l.level}\u0000${l.message}`;
    const g = groups.get(key);
    if (g) {
      g.last = l.time;
      g.count++;
    } else groups.set(key, { first: l, last: l.time, count: 1 });
  }
  const all = [...groups.values()];
  const shown = all.slice(-12);
  const lines = shown.map(({ first: l, last, count }) => {
    const when = count > 1 ? `t=${l.time}s…${last}s ×${count}` : `t=${l.time}s`;
    return `  ${pc.dim(when)} ${l.node} ${l.level === 'error' ? pc.red(l.level) : pc.yellow(l.level)} ${l.message}`;
  });
  const more = all.length > shown.length ? `\n  ${pc.dim(`(${all.length - shown.length} earlier lines; --json has all)`)}` : '';
  return `${heading('ipamd warnings and errors', events.length)}\n${lines.join('\n')}${more}`;
}

function ipamText(json: CniIpamJson): string {
  const nodes = json.nodes.length ? json.nodes.map(nodeText).join('\n\n') : pc.dim('  no nodes');
  return [`${heading('Nodes', json.nodes.length)}\n${nodes}`, subnetsText(json.subnets), eventsText(json.events)].filter((t) => t !== '').join('\n\n');
}

/** The `cni` section of `demo` and `inspect` reports: each node's ENIs and addresses, when the VPC CNI is in use. */
export const CNI_SECTION: Section = {
  name: 'cni',
  json: (ctx: SectionContext) => (ctx.cluster.ipam instanceof VpcCni ? ipamJson(ctx.cluster.ipam) : null),
  text: (ctx: SectionContext) => (ctx.cluster.ipam instanceof VpcCni ? `${heading('VPC CNI')}\n${ipamText(ipamJson(ctx.cluster.ipam))}` : ''),
};

// ---- plan ------------------------------------------------------------------------------------------------------

interface PlanCliOptions {
  instanceType: string;
  nodes: number;
  pods: number;
  subnet: string[];
  warmEniTarget?: number;
  warmIpTarget?: number;
  minimumIpTarget?: number;
  warmPrefixTarget?: number;
  prefixDelegation?: boolean;
  maxPods?: number;
  json?: boolean;
}

function planEnv(o: PlanCliOptions): AwsNodeEnv {
  const env: AwsNodeEnv = {};
  if (o.warmEniTarget !== undefined) env.WARM_ENI_TARGET = String(o.warmEniTarget);
  if (o.warmIpTarget !== undefined) env.WARM_IP_TARGET = String(o.warmIpTarget);
  if (o.minimumIpTarget !== undefined) env.MINIMUM_IP_TARGET = String(o.minimumIpTarget);
  if (o.warmPrefixTarget !== undefined) env.WARM_PREFIX_TARGET = String(o.warmPrefixTarget);
  if (o.prefixDelegation) {
    env.ENABLE_PREFIX_DELEGATION = 'true';
    env.WARM_PREFIX_TARGET ??= '1'; // the manifest's value
  }
  return env;
}

function runOut(run: PlanRun, r: PlanResult, short = false): string {
  if (run.runsOutAt === undefined) return short ? `never (${r.schedulablePods} fit)` : `never before the kubelets' limit of ${r.schedulablePods} pods`;
  const why =
    run.reason === 'subnet'
      ? short
        ? 'subnet'
        : "a node's subnet cannot give what ipamd asks (too few addresses, or no free /28, for the next ENI or IP batch)"
      : run.reason === 'node-ip-capacity'
        ? short
          ? 'ENI limit'
          : "the node's ENIs are full at the instance's ENI limit"
        : short
          ? 'max pods'
          : `every node is at max pods (${r.maxPodsPerNode} − 2 host-network pods)`;
  return short ? `at ${run.runsOutAt} (${why})` : `at ${pc.bold(String(run.runsOutAt))} pods: ${why}`;
}

function planText(r: PlanResult): string {
  const c = r.current;
  const a = c.atTarget;
  const usable = r.subnets.reduce((s, x) => s + x.usable, 0);
  const lines = [
    pc.bold(`${r.nodes} × ${r.instanceType}, ${r.pods} pods, subnets ${r.subnets.map((s) => s.cidr).join(', ')} (${usable} usable of ${r.subnets.reduce((s, x) => s + x.size, 0)}: AWS keeps 5 per subnet)`),
    `  settings: ${Object.keys(c.env).length ? Object.entries(c.env).map(([k, v]) => `${k}=${v}`).join(' ') : 'EKS defaults (WARM_ENI_TARGET=1)'}; max pods per node ${r.maxPodsPerNode}`,
    '',
    heading(`Simulated at ${r.pods} pods`),
    `  addresses held from the subnets: ${pc.bold(String(a.addressesHeld))} = ${a.assigned} assigned to pods + ${a.warm} warm in ipamd's pools + ${a.eniPrimaryIPs} ENI primary IPs (node IPs included)`,
    `  ENIs per node: ${summarize(a.enisPerNode)}; free in the subnets: ${a.freeInSubnets}`,
  ];
  if (a.podsWaitingForIP || a.podsUnschedulable) {
    lines.push(`  ${pc.red(`${a.podsWaitingForIP} pods ContainerCreating (no address), ${a.podsUnschedulable} Pending (max pods)`)}`);
  }
  lines.push(`  the subnets run out ${runOut(c, r)}`);
  const u = r.unconstrained;
  lines.push(
    `  with room to spare the nodes hold ${u.addressesHeld} addresses at ${r.pods} pods, up to ${u.perSubnet} in one subnet: each subnet needs at least a /${u.prefixLength} (${2 ** (32 - u.prefixLength) - 5} usable)`,
  );
  lines.push('', heading('The arithmetic (steady state per node)'));
  for (const l of r.formula.lines) lines.push(`  ${l}`);
  lines.push(`  total ${r.formula.addressesPerNode.join(' + ')} = ${pc.bold(String(r.formula.total))} addresses ${pc.dim(`(simulated: ${a.addressesHeld}; the pool only grows on ipamd's 5 s ticks, and the last step may overshoot)`)}`);
  if (r.alternatives.length) {
    lines.push('', heading('Other settings, same scale-up'));
    lines.push(
      indent(
        table(
          ['SETTINGS', `HELD AT ${r.pods} PODS`, 'WARM', 'RUNS OUT'],
          [c, ...r.alternatives].map((run) => [run.label, run.atTarget.addressesHeld, run.atTarget.warm, runOut(run, r, true)]),
        ),
      ),
    );
  }
  return lines.join('\n');
}

function summarize(values: number[]): string {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((x, y) => x[0] - y[0]).map(([v, n]) => `${v} on ${n} node${n === 1 ? '' : 's'}`).join(', ');
}

// ---- registration ----------------------------------------------------------------------------------------------

export function registerCni(program: Command, io: Io): void {
  const cni = program.command('cni').description('The Amazon VPC CNI: max pods, ENIs and addresses per node, address plans');

  cni
    .command('max-pods')
    .description('Max pods per instance type: ENIs × (IPv4 per ENI − 1) + 2, and its variants')
    .addOption(new Option('-t, --instance-type <type>', 'an EC2 instance type (repeatable)').argParser(collect).default([], 'none'))
    .option('--all', 'every instance type the simulator knows')
    .option('--prefix-delegation', 'ENABLE_PREFIX_DELEGATION: /28 prefixes, × 16 (Nitro and bare metal only)')
    .option('--custom-networking', 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: the primary ENI carries no pods')
    .option('--cap-vcpus <n>', "the EKS max-pods calculator's cap for an instance of N vCPUs (110 up to 30, else 250)", positiveInt('--cap-vcpus', 1))
    .option('--max-eni <n>', 'MAX_ENI: use at most N ENIs', positiveInt('--max-eni', 1))
    .option('--json', 'print {"<instance type>": <max pods>}')
    .action((o: MaxPodsOptions) => maxPodsCommand(io, o));

  cni
    .command('ipam')
    .description("Each node's ENIs, secondary IPs or prefixes and route tables; assigned, warm and cooling addresses; free addresses per subnet")
    .requiredOption('-f, --filename <file...>', 'manifest files or directories (YAML/JSON; `-` for stdin), as kubectl takes them')
    .option('--node <name>', 'only this node')
    .option('--json', 'print the state as JSON')
    .action(async (o: { filename: string[]; node?: string; json?: boolean }) => {
      const input = await readInput(o.filename);
      const { cluster } = vpcCniCluster(input);
      const state = cluster.ipam as VpcCni;
      if (o.node && !state.nodeNames().includes(o.node)) {
        throw new UsageError(`no node ${o.node}; nodes: ${state.nodeNames().join(', ') || '(none)'}`);
      }
      const json = ipamJson(state, o.node);
      if (o.json) printJson(io, json);
      else io.out(`${ipamText(json)}\n`);
    });

  cni
    .command('routes')
    .description("A node's policy routing and the CNI's iptables rules: `ip rule`, `ip -4 route show table all`, nat and mangle rules")
    .requiredOption('-f, --filename <file...>', 'manifest files or directories (YAML/JSON; `-` for stdin), as kubectl takes them')
    .requiredOption('--node <name>', 'the node')
    .option('--json', 'print {rules, routes, iptables} as JSON')
    .action(async (o: { filename: string[]; node: string; json?: boolean }) => {
      const { cluster } = vpcCniCluster(await readInput(o.filename));
      const state = cluster.ipam as VpcCni;
      if (!state.nodeNames().includes(o.node)) throw new UsageError(`no node ${o.node}; nodes: ${state.nodeNames().join(', ') || '(none)'}`);
      const rules = renderIpRules(state, o.node);
      const routes = renderIpRoutes(state, o.node);
      const iptables = state.iptablesRules(o.node);
      if (o.json) {
        printJson(io, { rules, routes, iptables });
        return;
      }
      const save = (table: 'nat' | 'mangle', t: { chains: string[]; rules: string[] }) => printSaveTable(table, t.chains, t.rules).trimEnd();
      io.out(
        [
          `${pc.dim('# ip rule')}\n${rules}`,
          `${pc.dim('# ip -4 route show table all')}\n${routes}`,
          `${pc.dim("# iptables-save: the VPC CNI's chains and rules (kube-proxy's are not shown here)")}\n${save('nat', iptables.nat)}\n${save('mangle', iptables.mangle)}\n`,
        ].join('\n'),
      );
    });

  cni
    .command('plan')
    .description('Simulate ipamd on a node group: addresses held (assigned and warm), when the subnets run out, what other settings change')
    .requiredOption('-t, --instance-type <type>', 'the nodes’ EC2 instance type')
    .requiredOption('--nodes <n>', 'number of nodes', positiveInt('--nodes', 1))
    .requiredOption('--pods <n>', 'number of pods (not hostNetwork), spread evenly', positiveInt('--pods'))
    .addOption(new Option('--subnet <cidr>', 'a node subnet (repeatable); nodes go round-robin').argParser(collect).default([], '192.168.0.0/19'))
    .option('--warm-eni-target <n>', 'WARM_ENI_TARGET (default 1)', positiveInt('--warm-eni-target'))
    .option('--warm-ip-target <n>', 'WARM_IP_TARGET', positiveInt('--warm-ip-target'))
    .option('--minimum-ip-target <n>', 'MINIMUM_IP_TARGET', positiveInt('--minimum-ip-target'))
    .option('--warm-prefix-target <n>', 'WARM_PREFIX_TARGET (default 1 with --prefix-delegation)', positiveInt('--warm-prefix-target'))
    .option('--prefix-delegation', 'ENABLE_PREFIX_DELEGATION=true')
    .option('--max-pods <n>', "the kubelet's max pods (default: the EKS AMI value for the type)", positiveInt('--max-pods', 1))
    .option('--json', 'print the plan as JSON')
    .action((o: PlanCliOptions) => {
      const result = planAddresses({
        instanceType: o.instanceType,
        nodes: o.nodes,
        pods: o.pods,
        subnets: o.subnet,
        env: planEnv(o),
        ...(o.maxPods !== undefined ? { maxPods: o.maxPods } : {}),
      });
      if (o.json) printJson(io, result);
      else io.out(`${planText(result)}\n`);
    });
}
