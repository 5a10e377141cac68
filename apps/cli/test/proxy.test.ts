import { parseIptables } from '@kube-netsim/model/proxy';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir } from './support.js';

// Observed state as `kubectl get -o yaml` would give it: Services with addresses, EndpointSlices, no Node objects.
const OBSERVED = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.100.12.34
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- addresses: [10.0.1.15]
  nodeName: ip-10-0-1-23.ec2.internal
- addresses: [10.0.2.40]
  nodeName: ip-10-0-2-9.ec2.internal
ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: kube-system}
spec:
  clusterIP: 10.100.0.10
  ports: [{name: dns, port: 53, protocol: UDP}]
`;
const NODE = ['--node', 'ip-10-0-1-23.ec2.internal', '--node-ip', '10.0.1.23'];

const { path, file } = tempDir('kube-netsim-proxy-');
let manifests: string;
beforeAll(() => {
  manifests = file('observed.yaml', OBSERVED);
});

describe('kube-netsim proxy rules', () => {
  it('prints the iptables-restore input of a full sync (filter then nat)', async () => {
    const r = await cli('proxy', 'rules', '-f', manifests, ...NODE);
    expect(r.code).toBe(0);
    expect(r.out.startsWith('*filter\n')).toBe(true);
    expect(r.out.indexOf('*nat\n')).toBeGreaterThan(r.out.indexOf('COMMIT\n'));
    expect(r.out).toContain('-A KUBE-SERVICES -m comment --comment "kube-system/dns:dns has no endpoints" -m udp -p udp -d 10.100.0.10 --dport 53 -j REJECT\n');
    expect(r.out).toMatch(/-A KUBE-NODEPORTS -m comment --comment shop\/web:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-[A-Z2-7]{16}\n/);
  });

  it('--format save prints the whole node ruleset, which parses and has the jumps and the VPC CNI rules', async () => {
    const r = await cli('proxy', 'rules', '-f', manifests, ...NODE, '--format', 'save');
    expect(r.code).toBe(0);
    expect(r.out.indexOf('*mangle')).toBeLessThan(r.out.indexOf('*filter'));
    expect(r.out.indexOf('*filter')).toBeLessThan(r.out.indexOf('*nat'));
    expect(r.out).toContain('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n');
    expect(r.out).toContain('-j SNAT --to-source 10.0.1.23 --random-fully\n');
    expect(parseIptables(r.out).tables.get('nat')!.chains.has('AWS-SNAT-CHAIN-0')).toBe(true);
  });

  it('nftables mode prints nft -f input', async () => {
    const r = await cli('proxy', 'rules', '-f', manifests, ...NODE, '--mode', 'nftables');
    expect(r.code).toBe(0);
    expect(r.out).toContain('add table ip kube-proxy');
    // Chain names as kube-proxy's nftables proxier makes them: the first 8 base32 characters of the SHA-256 of
    // "<ns>/<svc>/<proto>/<port>" (upstream's vectors: ns1/svc1/tcp/p80 → ULMVA6XW, ns1/svc1/tcp/p80__10.180.0.1/80 → 5OJB2KTY).
    expect(r.out).toContain('add element ip kube-proxy service-ips { 10.100.12.34 . tcp . 80 : goto service-KHN6ECMT-shop/web/tcp/http }\n');
    expect(r.out).toContain('add element ip kube-proxy service-nodeports { tcp . 30080 : goto external-KHN6ECMT-shop/web/tcp/http }\n');
    expect(r.out).toContain(
      'add rule ip kube-proxy service-KHN6ECMT-shop/web/tcp/http numgen random mod 2 vmap { 0 : goto endpoint-LKM7PYL7-shop/web/tcp/http__10.0.1.15/8080 , 1 : goto endpoint-5MP4FBDU-shop/web/tcp/http__10.0.2.40/8080 }\n',
    );
    expect(r.out).toContain('add rule ip kube-proxy endpoint-LKM7PYL7-shop/web/tcp/http__10.0.1.15/8080 meta l4proto tcp dnat to 10.0.1.15:8080\n');
    expect(r.out).toContain('add element ip kube-proxy no-endpoint-services { 10.100.0.10 . udp . 53 comment "kube-system/dns:dns" : goto reject-chain }\n');
  });

  it('ipvs mode prints ipvsadm -Ln, kube-ipvs0, ipsets and its iptables rules', async () => {
    const r = await cli('proxy', 'rules', '-f', manifests, ...NODE, '--mode', 'ipvs');
    expect(r.code).toBe(0);
    expect(r.out).toContain('# ipvsadm -Ln\nIP Virtual Server version');
    expect(r.out).toMatch(/TCP +10\.100\.12\.34:80 rr/);
    expect(r.out).toContain('inet 10.100.12.34/32 scope global kube-ipvs0');
    expect(r.out).toContain('# ipset save\n');
    expect((await cli('proxy', 'rules', '-f', manifests, ...NODE, '--mode', 'ipvs', '--format', 'save')).code).toBe(2);
  });

  it('bad input exits 2 with a message', async () => {
    expect((await cli('proxy', 'rules', '-f', manifests, ...NODE, '--mode', 'userspace')).err).toContain('--mode must be iptables, nftables or ipvs');
    expect((await cli('proxy', 'rules', '-f', manifests, ...NODE, '--format', 'xml')).code).toBe(2);
    const noIP = await cli('proxy', 'rules', '-f', manifests, '--node', 'ip-10-0-1-23.ec2.internal');
    expect(noIP.code).toBe(2);
    expect(noIP.err).toContain('--node-ip');
    expect((await cli('proxy', 'rules', '-f', path('missing.yaml'), ...NODE)).code).toBe(2);
  });
});

describe('kube-netsim proxy explain', () => {
  it('answers in text: verdict, endpoints in rule order, masquerade, matched rules', async () => {
    const r = await cli('proxy', 'explain', '-f', manifests, ...NODE, '--from', '10.0.1.50', '--to', '10.100.12.34:80');
    expect(r.code).toBe(0);
    expect(r.out).toContain('verdict:            DNAT\n');
    expect(r.out).toContain('possible endpoints: 10.0.1.15:8080, 10.0.2.40:8080\n');
    expect(r.out).toContain('masquerade:         no\n');
    expect(r.out).toMatch(/-t nat -A KUBE-SERVICES -d 10\.100\.12\.34\/32 -p tcp/);
  });

  it('--json; protocols are case-insensitive in and upper-case out; no endpoints is REJECT', async () => {
    const r = await cli('proxy', 'explain', '-f', manifests, ...NODE, '--from', '10.0.1.50', '--to', '10.100.0.10:53/uDp', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ verdict: 'REJECT', possibleEndpoints: [], masquerade: false });
  });

  it('the node itself to a NodePort on its own address is masqueraded', async () => {
    const r = await cli('proxy', 'explain', '-f', manifests, ...NODE, '--from', '10.0.1.23', '--to', '10.0.1.23:30080', '--json');
    expect(JSON.parse(r.out)).toMatchObject({ verdict: 'DNAT', possibleEndpoints: ['10.0.1.15:8080', '10.0.2.40:8080'], masquerade: true });
  });

  it('--flows answers a JSON array in the same order', async () => {
    const flows = file(
      'flows.json',
      JSON.stringify([
        { from: '10.0.1.50', to: '10.100.0.10', port: 53, protocol: 'udp' },
        { from: '10.0.1.50', to: '10.100.12.34', port: 80, protocol: 'TCP' },
        { from: '10.0.1.50', to: '10.0.9.9', port: 80, protocol: 'Tcp' },
      ]),
    );
    const r = await cli('proxy', 'explain', '-f', manifests, ...NODE, '--flows', flows);
    expect(r.code).toBe(0);
    const answers = JSON.parse(r.out) as { verdict: string }[];
    expect(answers.map((a) => a.verdict)).toEqual(['REJECT', 'DNAT', 'NONE']);
  });

  it('ipvs mode answers with its own evaluator (round robin over the same endpoints)', async () => {
    const r = await cli('proxy', 'explain', '-f', manifests, ...NODE, '--mode', 'ipvs', '--from', '10.0.1.50', '--to', '10.100.12.34:80', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ verdict: 'DNAT' });
    expect([...(JSON.parse(r.out) as { possibleEndpoints: string[] }).possibleEndpoints].sort()).toEqual(['10.0.1.15:8080', '10.0.2.40:8080']);
  });

  it('nftables mode answers with its own evaluator', async () => {
    const r = await cli('proxy', 'explain', '-f', manifests, ...NODE, '--mode', 'nftables', '--from', '10.0.1.50', '--to', '10.100.12.34:80', '--json');
    expect(JSON.parse(r.out)).toMatchObject({ verdict: 'DNAT', possibleEndpoints: ['10.0.1.15:8080', '10.0.2.40:8080'] });
  });

  it('bad packets and flow files exit 2 naming the problem', async () => {
    const bad = async (...a: string[]) => cli('proxy', 'explain', '-f', manifests, ...NODE, ...a);
    expect((await bad('--from', '10.0.1.50', '--to', '10.100.12.34')).err).toContain('--to must be IP:PORT');
    expect((await bad('--from', '10.0.1.50', '--to', '10.100.12.34:80/icmp')).err).toContain('protocol must be TCP, UDP or SCTP');
    expect((await bad('--from', 'nope', '--to', '10.100.12.34:80')).code).toBe(2);
    expect((await bad('--to', '10.100.12.34:80')).err).toContain('--from');
    const flows = file('bad-flows.json', JSON.stringify([{ from: '10.0.1.50', to: '10.100.0.10', port: 70000, protocol: 'udp' }]));
    const r = await bad('--flows', flows);
    expect(r.code).toBe(2);
    expect(r.err).toContain('[0].port');
    expect((await bad('--flows', file('not-json.json', '{'))).err).toContain('is not JSON');
  });
});
