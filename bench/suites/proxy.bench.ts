/**
 * kube-proxy decision cost per packet as the number of Services grows: the iptables interpreter (a literal walk of
 * KUBE-SERVICES, one rule per service port: O(n) — the baseline) against the nftables evaluator (verdict-map
 * lookups), on the same cluster, measured in the same run; plus the cost of rendering one full iptables sync.
 * Each contender's answer is checked once (DNAT to one of the service's endpoints) before it is timed.
 *
 * Suite contract: `default async function ({ quick })` → rows of `{ name, opsPerSecond, … }`.
 * Run alone: `pnpm --filter @kube-netsim/bench exec tsx suites/proxy.bench.ts [--quick] [--write]` (`--write` saves
 * results/proxy.{md,json}).
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Bench } from 'tinybench';
import type { EndpointSlice, Service } from '../../packages/model/src/api/core.js';
import { resolveKubeProxyConfiguration } from '../../packages/model/src/proxy/config.js';
import type { ProxyPacket } from '../../packages/model/src/proxy/explain-types.js';
import { explainIptables } from '../../packages/model/src/proxy/interpreter/explain.js';
import { parseIptables } from '../../packages/model/src/proxy/interpreter/ruleset.js';
import { renderIptablesRestore } from '../../packages/model/src/proxy/iptables/restore.js';
import { renderIptablesSave } from '../../packages/model/src/proxy/iptables/save.js';
import { buildNftablesRuleset } from '../../packages/model/src/proxy/nftables/build.js';
import { explainNftables } from '../../packages/model/src/proxy/nftables/explain.js';
import { buildProxyServiceState } from '../../packages/model/src/proxy/service-port.js';

export interface ProxyBenchRow {
  suite: 'proxy';
  name: string;
  contender: 'iptables-interpreter' | 'nftables-evaluator' | 'iptables-render';
  services: number;
  /** Packets explained (or syncs rendered) per second. */
  opsPerSecond: number;
  /** Operations per timed call. */
  batch: number;
  /** Relative margin of error of the per-call time, in percent. */
  rme: number;
  samples: number;
}

const NODE = { name: 'node-a', ips: ['10.0.1.23'] };

/** `n` ClusterIP Services with three endpoints each, as EKS would give them. */
function cluster(n: number): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < n; i++) {
    const name = `svc-${i}`;
    services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'bench' },
      spec: { clusterIP: `172.20.${i >> 8}.${i & 255}`, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-1`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints: [0, 1, 2].map((k) => ({ addresses: [`10.${1 + k}.${i >> 8}.${i & 255}`], nodeName: k === 0 ? NODE.name : 'node-b' })),
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
  }
  return { services, slices };
}

function rowsOf(bench: Bench, meta: Map<string, Omit<ProxyBenchRow, 'opsPerSecond' | 'rme' | 'samples' | 'name'>>): ProxyBenchRow[] {
  return bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
    const m = meta.get(task.name)!;
    return { ...m, name: task.name, opsPerSecond: Math.round((m.batch * 1000) / result.period), rme: Number(result.latency.rme.toFixed(2)), samples: result.latency.samples?.length ?? 0 };
  });
}

export default async function proxyBench({ quick = false }: { quick?: boolean } = {}): Promise<ProxyBenchRow[]> {
  const time = quick ? 100 : 1500;
  const sizes = quick ? [100] : [100, 1000, 5000];
  const rows: ProxyBenchRow[] = [];
  for (const n of sizes) {
    const { services, slices } = cluster(n);
    const state = buildProxyServiceState({ services, endpointSlices: slices, nodeName: NODE.name });
    const config = resolveKubeProxyConfiguration();
    const iptables = parseIptables(renderIptablesSave({ state, config, node: NODE }));
    const nft = buildNftablesRuleset({ state, config: { ...config, mode: 'nftables' }, node: NODE, serviceCIDRs: ['172.20.0.0/16'] });
    // Packets from a pod to ClusterIPs spread over the whole KUBE-SERVICES chain.
    const batch = 64;
    const packets: ProxyPacket[] = Array.from({ length: batch }, (_, k) => {
      const i = Math.floor(((k + 0.5) / batch) * n);
      return { from: '10.9.9.9', to: `172.20.${i >> 8}.${i & 255}`, port: 80, protocol: 'TCP', arrival: 'pod' };
    });
    for (const p of packets) {
      const a = explainIptables(iptables, p, NODE);
      const b = explainNftables(nft, p, NODE.ips);
      if (a.verdict !== 'DNAT' || a.possibleEndpoints.length !== 3) throw new Error(`iptables interpreter: unexpected answer for ${p.to}: ${JSON.stringify(a)}`);
      if (b.verdict !== 'DNAT' || [...b.possibleEndpoints].sort().join() !== [...a.possibleEndpoints].sort().join()) {
        throw new Error(`nftables evaluator disagrees for ${p.to}: ${JSON.stringify(b.possibleEndpoints)}`);
      }
    }
    const bench = new Bench({ time, warmupTime: quick ? 20 : 200 } as ConstructorParameters<typeof Bench>[0]);
    const meta = new Map<string, Omit<ProxyBenchRow, 'opsPerSecond' | 'rme' | 'samples' | 'name'>>();
    const label = `${n.toLocaleString('en-US')} Services × 3 endpoints`;
    const add = (contender: ProxyBenchRow['contender'], how: string, calls: number, fn: () => void) => {
      const name = `${label}: ${how}`;
      meta.set(name, { suite: 'proxy', contender, services: n, batch: calls });
      bench.add(name, fn);
    };
    add('iptables-interpreter', `iptables interpreter, ${batch} packets (every statistic branch)`, batch, () => {
      for (const p of packets) explainIptables(iptables, p, NODE);
    });
    add('nftables-evaluator', `nftables evaluator, ${batch} packets`, batch, () => {
      for (const p of packets) explainNftables(nft, p, NODE.ips);
    });
    add('iptables-render', 'render one full iptables-restore sync', 1, () => {
      renderIptablesRestore({ state, config, node: NODE });
    });
    await bench.run();
    rows.push(...rowsOf(bench, meta));
  }
  return rows;
}

function markdown(rows: readonly ProxyBenchRow[]): string {
  const lines = ['| benchmark | contender | ops/s | ±% |', '| --- | --- | ---: | ---: |'];
  for (const r of rows) lines.push(`| ${r.name} | ${r.contender} | ${r.opsPerSecond.toLocaleString('en-US')} | ${r.rme} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const rows = await proxyBench({ quick });
  const cpu = cpus();
  const header = `# kube-proxy packet decisions: iptables interpreter (O(n) baseline) vs nftables evaluator, and iptables rendering\n\n${new Date().toISOString()} · Node ${process.version} · ${cpu[0]?.model ?? 'unknown CPU'} (${cpu.length} cores) · ${process.platform}-${process.arch}${quick ? ' · **quick smoke pass, not representative**' : ''}\n\n`;
  const md = `${header}${markdown(rows)}\n`;
  console.log(md);
  if (process.argv.includes('--write')) {
    const dir = new URL('../results/', import.meta.url);
    writeFileSync(new URL('proxy.md', dir), md);
    writeFileSync(new URL('proxy.json', dir), `${JSON.stringify({ node: process.version, cpu: cpu[0]?.model, cores: cpu.length, quick, rows }, null, 2)}\n`);
  }
}
