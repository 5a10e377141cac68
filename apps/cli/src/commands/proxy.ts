import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ClusterInput, EndpointSlice, Node, Protocol, ProxyMode, Service } from '@kube-netsim/model';
import { isIP } from '@kube-netsim/model/ip';
import { resolveClusterConfig } from '@kube-netsim/model/cluster';
import { cniConfigFromEnv, cniIptablesRules } from '@kube-netsim/model/cni';
import {
  type Explanation,
  type ProxyNode,
  type ProxyPacket,
  type ResolvedKubeProxyConfiguration,
  buildIpvsState,
  buildNftablesRuleset,
  buildProxyServiceState,
  explainIptables,
  explainIpvs,
  explainNftables,
  localDetectorFor,
  parseIptables,
  printIpsetSave,
  printIpvsIptablesRestore,
  printIpvsadm,
  printKubeIpvs0,
  printNftablesRuleset,
  proxyNodeOf,
  renderIptablesRestore,
  renderIptablesSave,
  resolveKubeProxyConfiguration,
} from '@kube-netsim/model/proxy';
import { UsageError } from '../exit.js';
import type { Io } from '../io.js';
import { clusterFromInput, readInput } from '../load.js';
import { printJson } from '../output.js';

// `kube-netsim proxy rules|explain`: what kube-proxy on one node programs, and what that does to a packet.
// Both read observed state as given (Services with their addresses, EndpointSlices); only when the files hold
// workloads without EndpointSlices, or Services without a ClusterIP, is the cluster built to derive them.

const collect = (value: string, previous: string[]) => [...previous, value];

/** Everything one node's kube-proxy works from. */
interface NodeView {
  mode: ProxyMode;
  config: ResolvedKubeProxyConfiguration;
  input: ClusterInput;
  services: Service[];
  endpointSlices: EndpointSlice[];
  node: ProxyNode;
  serviceCIDRs: string[];
  vpcCIDRs: string[];
}

interface CommonOptions {
  filename: string[];
  node?: string;
  nodeIp: string[];
  mode?: string;
}

function needsClusterIP(s: Service): boolean {
  const ip = s.spec.clusterIP ?? s.spec.clusterIPs?.[0];
  return s.spec.type !== 'ExternalName' && (ip === undefined || ip === '');
}

async function loadNodeView(opts: CommonOptions): Promise<NodeView> {
  if (opts.filename.length === 0) throw new UsageError('give the cluster state with -f FILE (repeatable, - for stdin)');
  const nodeName = opts.node;
  if (!nodeName) throw new UsageError('give the node whose kube-proxy to show with --node NAME');
  for (const ip of opts.nodeIp) if (!isIP(ip)) throw new UsageError(`--node-ip ${JSON.stringify(ip)} is not an IP address`);
  if (opts.mode !== undefined && !['iptables', 'nftables', 'ipvs'].includes(opts.mode)) {
    throw new UsageError(`--mode must be iptables, nftables or ipvs, got ${JSON.stringify(opts.mode)}`);
  }
  const input = await readInput(opts.filename);
  const config = resolveKubeProxyConfiguration(input.kubeProxyConfiguration);
  const mode = (opts.mode as ProxyMode | undefined) ?? config.mode;
  const workloads = input.pods.length + input.deployments.length + input.replicaSets.length + input.statefulSets.length;
  const derive = (workloads > 0 && input.endpointSlices.length === 0) || input.services.some(needsClusterIP);
  let services = input.services;
  let endpointSlices = input.endpointSlices;
  let nodeObject: Node | undefined = input.nodes.find((n) => n.metadata.name === nodeName);
  let addresses: string[] = [];
  let serviceCIDRs: string[];
  let vpcCIDRs: string[];
  if (derive) {
    const cluster = clusterFromInput(input);
    services = cluster.services();
    endpointSlices = cluster.endpointSlices();
    nodeObject = cluster.node(nodeName);
    addresses = cluster.nodeNetwork(nodeName)?.localAddresses ?? [];
    serviceCIDRs = [cluster.serviceCIDR.toString()];
    vpcCIDRs = cluster.config.vpcCIDRs;
  } else {
    const resolved = resolveClusterConfig(input.clusterConfig);
    serviceCIDRs = [resolved.serviceCIDR];
    vpcCIDRs = resolved.vpcCIDRs;
  }
  const node = proxyNodeOf(nodeName, nodeObject, [...addresses, ...opts.nodeIp]);
  return { mode, config: { ...config, mode }, input, services, endpointSlices, node, serviceCIDRs, vpcCIDRs };
}

function syncInput(view: NodeView) {
  const state = buildProxyServiceState({ services: view.services, endpointSlices: view.endpointSlices, nodeName: view.node.name });
  const localDetector = localDetectorFor(view.config.detectLocalMode, view.config.clusterCIDRs, view.input.kubeProxyConfiguration?.detectLocal, view.node.podCIDRs);
  return { state, config: view.config, node: view.node, localDetector };
}

/** The VPC CNI's rules on this node, when the input runs the VPC CNI (its defaults unless aws-node's env says otherwise). */
function cniRules(view: NodeView) {
  const cni = cniConfigFromEnv(view.input.awsNodeEnv ?? {});
  return cniIptablesRules({
    vpcCIDRs: view.vpcCIDRs,
    excludeSnatCIDRs: cni.excludeSnatCIDRs,
    externalSnat: cni.externalSnat,
    nodePrimaryIP: view.node.ips[0]!,
    randomizeSnat: cni.randomizeSnat,
    nodePortSupport: cni.nodePortSupport,
    vethPrefix: cni.vethPrefix,
  });
}

/** An evaluator for the node's rules in the chosen mode. */
function explainerFor(view: NodeView): (p: ProxyPacket) => Explanation {
  const input = syncInput(view);
  if (view.mode === 'iptables') {
    const ruleset = parseIptables(renderIptablesSave({ ...input, cni: cniRules(view) }));
    return (p) => explainIptables(ruleset, p, view.node);
  }
  if (view.mode === 'nftables') {
    const rs = buildNftablesRuleset({ ...input, serviceCIDRs: view.serviceCIDRs });
    return (p) => explainNftables(rs, p, view.node.ips);
  }
  const state = buildIpvsState(input);
  return (p) => explainIpvs(state, p, view.node.ips);
}

/** ipvs mode's state as its tools print it: virtual servers, the dummy device, ipsets and the iptables rules. */
function ipvsRulesText(view: NodeView): string {
  const state = buildIpvsState(syncInput(view));
  return [
    `# ipvsadm -Ln\n${printIpvsadm(state)}`,
    `# ip addr show kube-ipvs0\n${printKubeIpvs0(state, view.node.name)}`,
    `# ipset save\n${printIpsetSave(state)}`,
    `# iptables-restore input\n${printIpvsIptablesRestore(state)}`,
  ].join('\n');
}

const PROTOCOLS: Record<string, Protocol> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

function parseProtocol(text: string, where: string): Protocol {
  const p = PROTOCOLS[text.toLowerCase()];
  if (!p) throw new UsageError(`${where}: protocol must be TCP, UDP or SCTP (any case), got ${JSON.stringify(text)}`);
  return p;
}

function parsePort(value: unknown, where: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new UsageError(`${where}: port must be an integer from 1 to 65535, got ${JSON.stringify(value)}`);
  }
  return n;
}

function checkIP(value: unknown, where: string): string {
  if (typeof value !== 'string' || !isIP(value)) throw new UsageError(`${where}: expected an IP address, got ${JSON.stringify(value)}`);
  return value;
}

/** `--to IP:PORT[/tcp|udp|sctp]`. */
export function parseDestination(text: string): { to: string; port: number; protocol: Protocol } {
  const m = /^(.+):([^:/]+)(?:\/([A-Za-z]+))?$/.exec(text);
  if (!m) throw new UsageError(`--to must be IP:PORT or IP:PORT/PROTOCOL (e.g. 10.100.0.10:53/udp), got ${JSON.stringify(text)}`);
  return { to: checkIP(m[1], '--to'), port: parsePort(m[2], '--to'), protocol: m[3] ? parseProtocol(m[3], '--to') : 'TCP' };
}

/** The `--flows` file: a JSON array of `{from, to, port, protocol}`. */
export function parseFlows(text: string, file: string): ProxyPacket[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file} is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) throw new UsageError(`${file} must hold a JSON array of {"from", "to", "port", "protocol"} objects`);
  return data.map((f: unknown, i) => {
    const where = `${file}[${i}]`;
    if (typeof f !== 'object' || f === null) throw new UsageError(`${where}: expected an object with from, to, port and protocol`);
    const o = f as Record<string, unknown>;
    const protocol = o.protocol === undefined ? 'TCP' : typeof o.protocol === 'string' ? parseProtocol(o.protocol, where) : parseProtocol(String(o.protocol), where);
    return { from: checkIP(o.from, `${where}.from`), to: checkIP(o.to, `${where}.to`), port: parsePort(o.port, `${where}.port`), protocol };
  });
}

function explanationText(p: ProxyPacket, e: Explanation, view: NodeView): string {
  const lines = [
    `${p.protocol} ${p.from} -> ${p.to}:${p.port} on node ${view.node.name} (${view.mode})`,
    `verdict:            ${e.verdict}`,
    `possible endpoints: ${e.possibleEndpoints.length > 0 ? e.possibleEndpoints.join(', ') : '-'}`,
    `masquerade:         ${e.masquerade ? 'yes' : 'no'}`,
    'rules:',
    ...(e.rules.length > 0 ? e.rules.map((r) => `  ${r}`) : ['  (none matched)']),
  ];
  return `${lines.join('\n')}\n`;
}

export function registerProxy(program: Command, io: Io): void {
  const proxy = program.command('proxy').description("kube-proxy: the rules one node's kube-proxy programs, and what they do to a packet");

  proxy
    .command('rules')
    .description('print what kube-proxy on a node programs (iptables: restore input of a full sync, or the node\'s iptables-save; nftables: nft -f input; ipvs: ipvsadm -Ln, kube-ipvs0, ipsets, iptables)')
    .option('-f, --filename <file>', 'manifest file or directory, - for stdin (repeatable)', collect, [])
    .option('--node <name>', 'the node whose kube-proxy to show')
    .option('--node-ip <ip>', 'an address of the node (repeatable, primary first) when no Node object gives it', collect, [])
    .option('--mode <mode>', 'iptables, nftables or ipvs (default: the KubeProxyConfiguration\'s mode, else iptables)')
    .option('--format <format>', 'restore (what kube-proxy writes) or save (the node\'s whole ruleset, iptables mode)', 'restore')
    .action(async (opts: CommonOptions & { format: string }) => {
      if (opts.format !== 'restore' && opts.format !== 'save') throw new UsageError(`--format must be restore or save, got ${JSON.stringify(opts.format)}`);
      const view = await loadNodeView(opts);
      const input = syncInput(view);
      if (view.mode === 'iptables') {
        io.out(opts.format === 'save' ? renderIptablesSave({ ...input, cni: cniRules(view) }) : renderIptablesRestore(input));
      } else if (view.mode === 'nftables') {
        if (opts.format === 'save') throw new UsageError('--format save is the iptables-save view; nftables mode prints its nft -f input');
        io.out(printNftablesRuleset(buildNftablesRuleset({ ...input, serviceCIDRs: view.serviceCIDRs })));
      } else {
        if (opts.format === 'save') throw new UsageError('--format save is the iptables-save view; ipvs mode prints ipvsadm, ipset and iptables-restore text');
        io.out(ipvsRulesText(view));
      }
    });

  proxy
    .command('explain')
    .description('trace packets through the node\'s kube-proxy rules: verdict, possible endpoints, masquerade, matched rules')
    .option('-f, --filename <file>', 'manifest file or directory, - for stdin (repeatable)', collect, [])
    .option('--node <name>', 'the node the packet arrives at')
    .option('--node-ip <ip>', 'an address of the node (repeatable, primary first) when no Node object gives it', collect, [])
    .option('--mode <mode>', 'iptables, nftables or ipvs (default: the KubeProxyConfiguration\'s mode, else iptables)')
    .option('--from <ip>', 'source IP')
    .option('--to <ip:port[/proto]>', 'destination, e.g. 10.100.0.10:53/udp (protocol defaults to TCP)')
    .option('--flows <file>', 'JSON array of {"from", "to", "port", "protocol"}; answers a JSON array in the same order')
    .option('--json', 'print JSON')
    .action(async (opts: CommonOptions & { from?: string; to?: string; flows?: string; json?: boolean }) => {
      let packets: ProxyPacket[];
      if (opts.flows !== undefined) {
        if (opts.from !== undefined || opts.to !== undefined) throw new UsageError('give either --flows FILE or --from and --to, not both');
        let text: string;
        try {
          text = await readFile(opts.flows, 'utf8');
        } catch {
          throw new UsageError(`cannot read --flows file ${opts.flows}`);
        }
        packets = parseFlows(text, opts.flows);
      } else {
        if (opts.from === undefined || opts.to === undefined) throw new UsageError('give the packet with --from IP --to IP:PORT[/PROTOCOL], or --flows FILE');
        packets = [{ from: checkIP(opts.from, '--from'), ...parseDestination(opts.to) }];
      }
      const view = await loadNodeView(opts);
      const explain = explainerFor(view);
      const answers = packets.map(explain);
      if (opts.flows !== undefined) printJson(io, answers);
      else if (opts.json) printJson(io, answers[0]);
      else io.out(explanationText(packets[0]!, answers[0]!, view));
    });
}
