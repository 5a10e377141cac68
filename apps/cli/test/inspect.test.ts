import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir } from './support.js';
import { type DemoDnsJson, type DemoLocalhostJson, examplePath } from '../src/commands/demo.js';
import type { NodeJson, PodJson, ServiceJson, WarningJson } from '../src/commands/inspect.js';
import { readManifests } from '@kube-netsim/model/manifests';

interface InventoryJson {
  cluster: { name: string; serviceCIDR: string; proxyMode: string };
  nodes: NodeJson[];
  pods: PodJson[];
  services: ServiceJson[];
  ignored: { kind: string; name: string; reason: string | null; at: string | null }[];
}

const { path, file } = tempDir('kube-netsim-cli-');

const web = (replicas: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
${extra}      containers: [{name: web, ports: [{containerPort: 8080}]}]
`;
const cluster = `apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata: {name: small, region: eu-west-1}
nodeGroups: [{name: ng, instanceType: t3.small, desiredCapacity: 2}]
`;

describe('kube-netsim demo', () => {
  it('builds the shipped example: 3 m5.large nodes in 3 zones, every pod running, the Services it promises', async () => {
    const { code, out } = await cli('demo', '--json');
    expect(code).toBe(0);
    const inv = JSON.parse(out) as InventoryJson;
    expect(inv.cluster).toMatchObject({ name: 'shop', serviceCIDR: '10.100.0.0/16', proxyMode: 'iptables' });
    expect(inv.nodes.map((n) => n.instanceType)).toEqual(['m5.large', 'm5.large', 'm5.large']);
    expect(new Set(inv.nodes.map((n) => n.zone))).toEqual(new Set(['us-west-2a', 'us-west-2b', 'us-west-2c']));
    for (const n of inv.nodes) expect(n.name).toBe(`ip-${n.internalIP!.replace(/\./g, '-')}.us-west-2.compute.internal`);
    expect(inv.pods.filter((p) => p.status !== 'Running')).toEqual([]);
    // DaemonSet pods on the node's own IP, one per node.
    const proxies = inv.pods.filter((p) => p.name.startsWith('kube-proxy-'));
    expect(proxies.map((p) => p.ip).sort()).toEqual(inv.nodes.map((n) => n.internalIP).sort());

    const svc = (name: string) => inv.services.find((s) => s.name === name)!;
    expect(svc('kube-dns').clusterIP).toBe('10.100.0.10');
    expect(svc('kube-dns').ports.map((p) => `${p.port}/${p.protocol}`)).toEqual(['53/UDP', '53/TCP', '9153/TCP']);
    expect(svc('web').type).toBe('NodePort');
    const nodePort = svc('web').ports[0]!.nodePort!;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(nodePort).toBeLessThanOrEqual(32767);
    expect(svc('api').ports.every((p) => p.nodePort === null)).toBe(true);
    expect(svc('redis').clusterIP).toBe('None');
    // Endpoints are the pods' IPs on the resolved target port.
    const webPods = inv.pods.filter((p) => p.namespace === 'shop' && p.name.startsWith('web-'));
    expect(svc('web').endpoints.map((e) => e.ip).sort()).toEqual(webPods.map((p) => p.ip).sort());
    expect(svc('web').endpoints.every((e) => e.ports.join() === '8080' && e.ready)).toBe(true);
  });

  it('prints readable tables with the same facts', async () => {
    const { code, out } = await cli('demo');
    expect(code).toBe(0);
    expect(out).toMatch(/^Cluster shop · us-west-2/);
    expect(out).toMatch(/^shop\/web +NodePort +10\.100\.\d+\.\d+ +80\/TCP→http +3\d{4} /m);
    expect(out).toMatch(/^kube-system\/kube-dns +ClusterIP +10\.100\.0\.10 +53\/UDP/m);
    expect(out).toMatch(/^shop\/redis +ClusterIP +None \(headless\)/m);
    // A Service without endpoints is flagged, except `kubernetes`, whose endpoints are the control plane's.
    expect(out).not.toMatch(/<none>\s*$/m);
    expect(out).toContain('kube-netsim demo --example > shop.yaml');
  });

  it('--example prints the shipped manifests', async () => {
    const { code, out } = await cli('demo', '--example');
    expect(code).toBe(0);
    expect(out).toBe(readFileSync(examplePath(), 'utf8'));
  });
});

describe('kube-netsim inspect', () => {
  it('inspecting the example file gives the demo inventory', async () => {
    const a = await cli('inspect', '-f', examplePath(), '--json');
    const b = await cli('demo', '--json');
    expect(JSON.parse(a.out).services).toEqual(JSON.parse(b.out).services);
    expect(JSON.parse(a.out).pods).toEqual(JSON.parse(b.out).pods);
  });

  it('-n limits pods and Services to one namespace', async () => {
    const inv = JSON.parse((await cli('inspect', '-f', examplePath(), '-n', 'shop', '--json')).out) as InventoryJson;
    expect(inv.services.map((s) => s.name)).toEqual(['api', 'redis', 'web']);
    expect(new Set(inv.pods.map((p) => p.namespace))).toEqual(new Set(['shop']));
    expect(inv.pods).toHaveLength(7);
    expect(inv.nodes).toHaveLength(3);
  });

  it('reads several files and directories; lists ignored kinds with where they are', async () => {
    const sub = path('app');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'web.yaml'), web('2'));
    writeFileSync(join(sub, 'cm.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\n');
    writeFileSync(join(sub, 'notes.txt'), 'not a manifest');
    const { code, out } = await cli('inspect', '-f', file('cluster.yaml', cluster), '-f', sub, '--json');
    expect(code).toBe(0);
    const inv = JSON.parse(out) as InventoryJson;
    expect(inv.nodes.map((n) => [n.instanceType, n.name.endsWith('.eu-west-1.compute.internal')])).toEqual([['t3.small', true], ['t3.small', true]]);
    expect(inv.pods.filter((p) => p.namespace === 'shop')).toHaveLength(2);
    expect(inv.ignored).toEqual([{ kind: 'ConfigMap', name: 'shop/settings', apiVersion: 'v1', reason: 'not part of the network model', at: `${join(sub, 'cm.yml')}:1:1` }]);
  });

  it('shows why a pod is not running', async () => {
    const pending = web('1', '      nodeSelector: {disktype: ssd}\n');
    const { code, out } = await cli('inspect', '-f', file('c.yaml', cluster), '-f', file('pending.yaml', pending));
    expect(code).toBe(0);
    expect(out).toMatch(/^shop\/web-[a-z0-9]+-[a-z0-9]{5} +Pending +<none> +<none>$/m);
    expect(out).toMatch(/Not running:\n {2}shop\/web-\S+: 0\/2 nodes are available: 2 node\(s\) didn't match Pod's node affinity\/selector/);
  });

  it('bad input: one line with file:line:column, the object and the field; exit 2; no stack trace', async () => {
    const path = file('bad.yaml', web('-1'));
    const { code, out, err } = await cli('inspect', '-f', path);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toBe(`error: ${path}:7:13: Deployment shop/web: Expected \`spec.replicas\` to be an integer ≥ 0, got -1\n`);
  });

  it('a missing file: exit 2 naming the path', async () => {
    const { code, err } = await cli('inspect', '-f', path('nope.yaml'));
    expect(code).toBe(2);
    expect(err).toBe(`error: cannot read ${path('nope.yaml')}: no such file or directory\n`);
  });

  it('without -f: a usage error, exit 2', async () => {
    const { code, err } = await cli('inspect');
    expect(code).toBe(2);
    expect(err).toMatch(/required option '-f, --filename <file\.\.\.>' not specified/);
  });
});

describe('the built bin', () => {
  const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
  beforeAll(() => {
    if (!existsSync(bin)) throw new Error('apps/cli is not built: run `pnpm build` first');
  });
  const node = (args: string[], input?: string) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', ...(input === undefined ? {} : { input }) });

  it('exits 0 on the demo, 2 on bad input with no stack trace, and reads `-f -` from stdin', () => {
    const ok = node(['demo']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('Cluster shop');

    const bad = node(['inspect', '-f', '-'], web('two'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('error: <stdin>:7:13: Deployment shop/web: Expected `spec.replicas` to be an integer ≥ 0, got "two"\n');

    const stdin = node(['inspect', '-f', '-', '--json'], `${cluster}---\n${web('3')}`);
    expect(stdin.status).toBe(0);
    expect((JSON.parse(stdin.stdout) as InventoryJson).pods.filter((p) => p.namespace === 'shop' && p.status === 'Running')).toHaveLength(3);

    // A reader that stops early (`| head`) ends the output quietly.
    const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" demo --yaml | head -n 1`], { encoding: 'utf8' });
    expect(piped.stdout).toBe('---\n');
    expect(piped.stderr).toBe('');

    const missing = node(['inspect', '-f', 'does-not-exist.yaml']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('error: cannot read does-not-exist.yaml: no such file or directory\n');
  });
});

describe('--yaml', () => {
  it('exports the settled cluster: read back, it has the same pods on the same IPs and the same NodePorts', async () => {
    const { code, out } = await cli('demo', '--yaml');
    expect(code).toBe(0);
    const back = readManifests([{ file: 'export.yaml', text: out }]);
    const inv = JSON.parse((await cli('demo', '--json')).out) as InventoryJson;
    expect(back.pods.map((p) => [p.metadata.name, p.status?.podIP]).sort()).toEqual(inv.pods.map((p) => [p.name, p.ip]).sort());
    expect(back.services.find((s) => s.metadata.name === 'web')!.spec.ports![0]!.nodePort).toBe(inv.services.find((s) => s.name === 'web')!.ports[0]!.nodePort);
  });

  it('cannot be combined with --json', async () => {
    const { code, err } = await cli('demo', '--yaml', '--json');
    expect(code).toBe(2);
    expect(err).toMatch(/option '--yaml' cannot be used with option '--json'/);
  });
});

describe('inspect on a kubectl dump', () => {
  it('shows the observed endpoints, the terminating one marked', async () => {
    const dump = fileURLToPath(new URL('../../../packages/model/src/manifests/fixtures/kubectl-get-o-yaml.yaml', import.meta.url));
    const { code, out } = await cli('inspect', '-f', dump);
    expect(code).toBe(0);
    expect(out).toMatch(/^shop\/web +NodePort +10\.100\.37\.201 +80\/TCP→http +31380 +192\.168\.110\.20:8080\n {2,}192\.168\.99\.8:8080 terminating$/m);
  });
});

describe('demo highlights', () => {
  it('resolves the shop names from a web pod like glibc with ndots:5 would', async () => {
    const report = JSON.parse((await cli('demo', '--json')).out) as InventoryJson & { dns: DemoDnsJson; localhost: DemoLocalhostJson[] };
    const ip = (name: string) => report.services.find((s) => s.name === name)!.clusterIP;
    const podIP = (name: string) => report.pods.find((p) => p.name === name)!.ip;
    const q = (query: string) => report.dns.queries.find((x) => x.query === query)!;
    expect(report.dns.from).toMatch(/^shop\/web-/);
    expect(report.dns.resolvConf).toEqual({
      nameservers: ['10.100.0.10'],
      searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'us-west-2.compute.internal'],
      options: ['ndots:5'],
    });
    expect(q('api')).toEqual({ query: 'api', answeredBy: 'api.shop.svc.cluster.local', status: 'NOERROR', addresses: [ip('api')], lookups: 1 });
    expect(q('redis').addresses.sort()).toEqual([podIP('redis-0'), podIP('redis-1')].sort());
    expect(q('redis-0.redis').addresses).toEqual([podIP('redis-0')]);
    expect(q('kube-dns.kube-system')).toMatchObject({ answeredBy: 'kube-dns.kube-system.svc.cluster.local', addresses: ['10.100.0.10'], lookups: 2 });
    expect(q('api.github.com')).toMatchObject({ status: 'FORWARDED', lookups: 5 });
  });

  it('shows what localhost reaches inside the two-container api pods', async () => {
    const report = JSON.parse((await cli('demo', '--json')).out) as { localhost: DemoLocalhostJson[] };
    expect(report.localhost.map((p) => p.pod.replace(/-[a-z0-9]+-[a-z0-9]+$/, ''))).toEqual(['shop/api', 'shop/api']);
    for (const p of report.localhost) {
      expect(p.listeners).toEqual([
        { port: 8080, protocol: 'TCP', container: 'api' },
        { port: 9100, protocol: 'TCP', container: 'metrics-exporter' },
      ]);
      expect(p.conflicts).toEqual([]);
    }
  });
});

describe('warnings', () => {
  it('reports two containers of a pod, and two hostNetwork pods of a node, on one port', async () => {
    const text = [
      'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {addresses: [{type: InternalIP, address: 192.168.0.5}], capacity: {pods: "20"}}\n',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec:\n  containers: [{name: a, ports: [{containerPort: 8080}]}, {name: b, ports: [{containerPort: 8080}]}]\n',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: h1, namespace: default}\nspec:\n  hostNetwork: true\n  nodeName: n1\n  containers: [{name: a, ports: [{containerPort: 9100}]}]\n',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: h2, namespace: default}\nspec:\n  hostNetwork: true\n  nodeName: n1\n  containers: [{name: exporter, ports: [{containerPort: 9100}]}]\n',
    ].join('---\n');
    const { code, out } = await cli('inspect', '-f', file('conflicts.yaml', text), '--json');
    expect(code).toBe(0);
    expect((JSON.parse(out) as { warnings: WarningJson[] }).warnings).toEqual([
      { object: 'Pod default/p', message: 'container a and container b both listen on TCP 8080: all but the first fail with "listen tcp :8080: bind: address already in use"' },
      { object: 'Node n1', message: 'Pod default/h1 (a) and Pod default/h2 (exporter) both listen on TCP 9100: all but the first fail with "listen tcp :9100: bind: address already in use"' },
    ]);
  });

  it('the example has none, so no Warnings section is printed', async () => {
    const { out } = await cli('demo');
    expect(out).not.toContain('Warnings');
    expect((JSON.parse((await cli('demo', '--json')).out) as { warnings: WarningJson[] }).warnings).toEqual([]);
  });
});

describe('pods the CNI cannot give an IP', () => {
  it('stay ContainerCreating with the CNI error, as kubectl shows them', async () => {
    // Two /28 subnets: 11 usable addresses each (AWS keeps 5), one node in the first; 12 web pods do not fit.
    const tiny = `apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata: {name: tiny, region: us-east-1}
vpc:
  cidr: 10.0.0.0/24
  subnets:
    private:
      us-east-1a: {cidr: 10.0.0.0/28}
      us-east-1b: {cidr: 10.0.0.16/28}
nodeGroups: [{name: ng, desiredCapacity: 1, privateNetworking: true, availabilityZones: [us-east-1a]}]
---
${web('12')}`;
    const path = file('tiny.yaml', tiny);
    const inv = JSON.parse((await cli('inspect', '-f', path, '--json')).out) as InventoryJson;
    // 11 usable, the node's primary ENI takes one: its 9 secondary IPs (an m5.large ENI holds 10) serve 9 pods; a
    // second ENI would need its own primary from the last address, leaving it nothing for pods.
    const waiting = inv.pods.filter((p) => p.status === 'ContainerCreating');
    expect(inv.pods.filter((p) => p.status === 'Running')).toHaveLength(9);
    expect(waiting).toHaveLength(3);
    for (const p of waiting) {
      expect(p).toMatchObject({ ip: null, phase: 'Pending', ready: false });
      expect(p.message).toMatch(/failed to assign an IP address to container/);
    }
    const { out } = await cli('inspect', '-f', path);
    expect(out).toMatch(/^shop\/web-\S+ +ContainerCreating +<none> +ip-10-0-0-\d+\.ec2\.internal$/m);
    expect(out).toContain('1 node, ');
  });
});
