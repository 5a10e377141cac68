/**
 * kube-proxy state into the WebAssembly datapath: one EndpointSlice changed, applied incrementally
 * (`applyEndpointSlice`: that Service's endpoint list only) against the same change as a full re-sync written as a
 * diff (`syncAll`, the baseline) and against a full sync into a fresh datapath; plus rendering one full sync in
 * nftables mode (build + `nft -f` text) and building the ipvs state. Measured in the same run. Before timing, the
 * incremental path's answer is checked once: a packet to the changed Service goes to its new endpoint.
 *
 *   pnpm --filter @kube-netsim/bench bench proxy-sync [--quick]
 */
import { Bench } from 'tinybench';
import { Verdict, loadDatapathSync } from '../../packages/datapath/src/index.js';
import type { EndpointSlice, Service } from '../../packages/model/src/api/core.js';
import { resolveKubeProxyConfiguration } from '../../packages/model/src/proxy/config.js';
import { buildIpvsState } from '../../packages/model/src/proxy/ipvs/build.js';
import { buildNftablesRuleset } from '../../packages/model/src/proxy/nftables/build.js';
import { printNftablesRuleset } from '../../packages/model/src/proxy/nftables/print.js';
import { buildProxyServiceState } from '../../packages/model/src/proxy/service-port.js';
import { DatapathProxySync } from '../../packages/model/src/proxy/sync/datapath-sync.js';
import type { BenchRow, SuiteContext, SuiteResult } from '../suite.js';

const NODES = [
  { name: 'node-a', ips: ['10.0.1.23'] },
  { name: 'node-b', ips: ['10.0.2.41'] },
];

const clusterIP = (i: number) => `172.20.${i >> 8}.${i & 255}`;

function slice(i: number, generation: number): EndpointSlice {
  const name = `svc-${i}`;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-1`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    endpoints: [0, 1, 2].map((k) => ({ addresses: [`10.${1 + k + 3 * generation}.${i >> 8}.${i & 255}`], nodeName: NODES[k % 2]!.name })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

/** `n` ClusterIP Services with three endpoints each. */
function cluster(n: number): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < n; i++) {
    services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${i}`, namespace: 'bench' },
      spec: { clusterIP: clusterIP(i), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
    slices.push(slice(i, 0));
  }
  return { services, slices };
}

export default async function proxySyncBench({ quick, log }: SuiteContext): Promise<SuiteResult> {
  const time = quick ? 100 : 1500;
  const sizes = quick ? [100] : [1000, 10000];
  const config = resolveKubeProxyConfiguration();
  const rows: BenchRow[] = [];
  for (const n of sizes) {
    log(`proxy-sync: ${n} Services`);
    const { services, slices } = cluster(n);
    const sync = new DatapathProxySync(loadDatapathSync({ seed: 1 }));
    for (const node of NODES) sync.addNode({ node, config });
    sync.syncAll(services, slices);
    const changed = Math.floor(n / 2);
    const versions = [slice(changed, 1), slice(changed, 0)];

    // Check once: after the incremental update the Service's connections go to its new endpoints only.
    const c = sync.applyEndpointSlice(versions[0]!);
    if (c.endpointListsWritten !== 1 || c.addressesAdded !== 0) throw new Error(`incremental update touched more than one list: ${JSON.stringify(c)}`);
    const batch = sync.dp.createBatch(1);
    batch.setPacket(0, { node: 0, arrival: 'pod', protocol: 'TCP', srcIP: '10.9.9.9', srcPort: 40000, dstIP: clusterIP(changed), dstPort: 80 });
    sync.dp.processBatch(batch, 1);
    const r = batch.result(0);
    const endpoint = sync.endpointName(r.endpointId) ?? '';
    if (r.verdict !== Verdict.DNAT || !endpoint.startsWith('10.4.') && !endpoint.startsWith('10.5.') && !endpoint.startsWith('10.6.')) {
      throw new Error(`after the update a packet went to ${endpoint} (verdict ${r.verdict}), not to a new endpoint`);
    }
    sync.applyEndpointSlice(versions[1]!);

    const state = buildProxyServiceState({ services, endpointSlices: slices, nodeName: NODES[0]!.name });
    const bench = new Bench({ time, warmupTime: quick ? 20 : 200 } as ConstructorParameters<typeof Bench>[0]);
    const label = `${n.toLocaleString('en-US')} Services × 3 endpoints`;
    let flip = 0;
    const current = slices.slice();
    bench.add(`${label}: one EndpointSlice changed, applyEndpointSlice (incremental)`, () => {
      sync.applyEndpointSlice(versions[flip++ & 1]!);
    });
    bench.add(`${label}: one EndpointSlice changed, syncAll (full diff, baseline)`, () => {
      current[changed] = versions[flip++ & 1]!;
      sync.syncAll(services, current);
    });
    bench.add(`${label}: full sync into a new datapath`, () => {
      const fresh = new DatapathProxySync(loadDatapathSync({ seed: 1 }));
      for (const node of NODES) fresh.addNode({ node, config });
      fresh.syncAll(services, slices);
    });
    bench.add(`${label}: nftables ruleset, build + nft -f text`, () => {
      printNftablesRuleset(buildNftablesRuleset({ state, node: NODES[0]!, config: { ...config, mode: 'nftables' }, serviceCIDRs: ['172.20.0.0/16'] }));
    });
    bench.add(`${label}: ipvs state (virtual servers, ipsets, rules)`, () => {
      buildIpvsState({ state, node: NODES[0]!, config: { ...config, mode: 'ipvs' } });
    });
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
      rows.push({ benchmark: task.name, services: n, msPerOp: Number(result.period.toFixed(4)), opsPerSecond: Math.round(1000 / result.period), rme: Number(result.latency.rme.toFixed(2)) });
    }
  }
  return {
    title: 'kube-proxy state → datapath sync (incremental vs full) and nftables/ipvs rendering',
    rows,
    notes: ['Incremental = one Service’s endpoint list rewritten; the baseline recomputes every Service and writes the same single difference.'],
  };
}
