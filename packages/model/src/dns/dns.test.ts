import { describe, expect, test } from 'vitest';
import type { Pod } from '../api/index.js';
import { buildCluster } from '../cluster/build-cluster.js';
import * as f from '../cluster/testing/fixtures.js';
import { clusterDNS } from './records.js';
import { formatResolvConf, resolvConf } from './resolv-conf.js';
import { resolve, searchCandidates } from './resolver.js';

function eks(region = 'us-west-2') {
  const coredns = f.deployment('kube-system', 'coredns', 2, { containers: [f.container('coredns', [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }])] }, { 'k8s-app': 'kube-dns' });
  return buildCluster(
    f.input({
      clusterConfig: f.clusterConfig({ nodes: 2, region }),
      namespaces: [f.namespace('shop')],
      deployments: [coredns, f.deployment('shop', 'web', 2)],
      statefulSets: [f.statefulSet('shop', 'redis', 2, 'redis')],
      services: [
        f.service('kube-system', 'kube-dns', { 'k8s-app': 'kube-dns' }, [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }]),
        f.service('shop', 'web', { app: 'web' }, [{ name: 'http', port: 80, targetPort: 'http' }]),
        f.service('shop', 'redis', { app: 'redis' }, [{ name: 'redis', port: 6379 }], { clusterIP: 'None' }),
        f.service('shop', 'db', undefined, [], { type: 'ExternalName', externalName: 'shop.abc123.us-west-2.rds.amazonaws.com' }),
      ],
      pods: [f.pod('shop', 'agent', {}, { hostNetwork: true, containers: [f.container('agent', [{ port: 9999 }])] })],
    }),
  );
}

const webPod = (c: ReturnType<typeof eks>): Pod => c.pods('shop').find((p) => p.metadata.name.startsWith('web-'))!;

describe('cluster DNS records (CoreDNS on EKS)', () => {
  const c = eks();
  const dns = clusterDNS(c);

  test('a ClusterIP Service: its ClusterIP', () => {
    expect(dns.coreDNS('web.shop.svc.cluster.local').records).toEqual([{ name: 'web.shop.svc.cluster.local', type: 'A', address: c.service('shop', 'web')!.spec.clusterIP }]);
  });

  test('a headless Service: its ready pods; StatefulSet pods by hostname', () => {
    const ips = c.pods('shop').filter((p) => p.metadata.name.startsWith('redis-')).map((p) => p.status!.podIP!);
    expect(dns.coreDNS('redis.shop.svc.cluster.local').records.map((r) => (r as { address: string }).address).sort()).toEqual([...ips].sort());
    expect(dns.coreDNS('redis-0.redis.shop.svc.cluster.local').records).toEqual([{ name: 'redis-0.redis.shop.svc.cluster.local', type: 'A', address: c.pod('shop', 'redis-0')!.status!.podIP }]);
    expect(dns.coreDNS('redis-7.redis.shop.svc.cluster.local').status).toBe('NXDOMAIN');
  });

  test('SRV for named ports: the Service name for a ClusterIP Service, each endpoint for a headless one', () => {
    expect(dns.coreDNS('_http._tcp.web.shop.svc.cluster.local', 'SRV').records).toEqual([
      { name: '_http._tcp.web.shop.svc.cluster.local', type: 'SRV', priority: 0, weight: 100, port: 80, target: 'web.shop.svc.cluster.local' },
    ]);
    const srv = dns.coreDNS('_redis._tcp.redis.shop.svc.cluster.local', 'SRV').records;
    expect(srv.map((r) => (r.type === 'SRV' ? [r.target, r.port, r.weight] : []))).toEqual([
      ['redis-0.redis.shop.svc.cluster.local', 6379, 50],
      ['redis-1.redis.shop.svc.cluster.local', 6379, 50],
    ]);
    expect(dns.coreDNS('_http._udp.web.shop.svc.cluster.local', 'SRV').status).toBe('NXDOMAIN');
  });

  test('ExternalName is a CNAME; pod names a-b-c-d.ns.pod; unknown names NXDOMAIN', () => {
    expect(dns.coreDNS('db.shop.svc.cluster.local').records).toEqual([{ name: 'db.shop.svc.cluster.local', type: 'CNAME', target: 'shop.abc123.us-west-2.rds.amazonaws.com' }]);
    expect(dns.coreDNS('10-0-1-5.shop.pod.cluster.local').records).toEqual([{ name: '10-0-1-5.shop.pod.cluster.local', type: 'A', address: '10.0.1.5' }]);
    expect(dns.coreDNS('nope.shop.svc.cluster.local').status).toBe('NXDOMAIN');
    expect(dns.coreDNS('web.other.svc.cluster.local').status).toBe('NXDOMAIN');
  });
});

describe('reverse lookups (PTR)', () => {
  test('a ClusterIP names its Service, a StatefulSet pod its hostname, a node IP its EC2 name', () => {
    const c = eks();
    const pod = webPod(c);
    const ptr = (ip: string) => resolve(c, pod, ip, 'PTR').answer.records.map((r) => (r.type === 'PTR' ? r.target : ''));
    expect(ptr('10.100.0.10')).toEqual(['kube-dns.kube-system.svc.cluster.local']);
    expect(ptr(c.pod('shop', 'redis-1')!.status!.podIP!)).toEqual(['redis-1.redis.shop.svc.cluster.local']);
    const webIP = pod.status!.podIP!;
    expect(ptr(webIP)).toEqual([`${webIP.replace(/\./g, '-')}.web.shop.svc.cluster.local`]);
    const node = c.nodes()[0]!;
    const nodeIP = c.nodeNetwork(node.metadata.name)!.internalIP;
    expect(ptr(nodeIP)).toEqual([node.metadata.name]);
    const r = resolve(c, pod, nodeIP, 'PTR');
    expect(r.tried.map((q) => q.name)).toEqual([`${nodeIP.split('.').reverse().join('.')}.in-addr.arpa`]);
    expect(r.answer.server).toBe('vpc-resolver');
    expect(resolve(c, pod, '8.8.8.8', 'PTR').answer.status).toBe('FORWARDED');
  });
});

describe('resolv.conf per dnsPolicy', () => {
  test('ClusterFirst: kube-dns on the 10th service address, the namespace search list, ndots:5', () => {
    const c = eks();
    expect(formatResolvConf(resolvConf(c, webPod(c)))).toBe(
      'search shop.svc.cluster.local svc.cluster.local cluster.local us-west-2.compute.internal\nnameserver 10.100.0.10\noptions ndots:5\n',
    );
    const east = eks('us-east-1');
    expect(resolvConf(east, webPod(east)).searches.at(-1)).toBe('ec2.internal');
  });

  test('host-network pods get the node file (VPC resolver at base + 2) unless ClusterFirstWithHostNet', () => {
    const c = eks();
    const agent = c.pod('shop', 'agent')!;
    expect(formatResolvConf(resolvConf(c, agent))).toBe('search us-west-2.compute.internal\nnameserver 192.168.0.2\n');
    const withHostNet = { ...agent, spec: { ...agent.spec, dnsPolicy: 'ClusterFirstWithHostNet' as const } };
    expect(resolvConf(c, withHostNet).nameservers).toEqual(['10.100.0.10']);
  });

  test('None takes dnsConfig only; other policies append it', () => {
    const c = eks();
    const pod = webPod(c);
    const none = { ...pod, spec: { ...pod.spec, dnsPolicy: 'None' as const, dnsConfig: { nameservers: ['1.1.1.1'], searches: ['corp.example'], options: [{ name: 'ndots', value: '2' }] } } };
    expect(resolvConf(c, none)).toEqual({ nameservers: ['1.1.1.1'], searches: ['corp.example'], options: [{ name: 'ndots', value: '2' }] });
    const extra = { ...pod, spec: { ...pod.spec, dnsConfig: { options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } } };
    expect(resolvConf(c, extra).options).toEqual([{ name: 'ndots', value: '2' }, { name: 'edns0' }]);
  });
});

describe('resolving from a pod (glibc search list, ndots:5)', () => {
  test('a short name goes through the search list and stops at the first answer', () => {
    const c = eks();
    const r = resolve(c, webPod(c), 'web');
    expect(r.tried.map((q) => [q.name, q.response.status])).toEqual([['web.shop.svc.cluster.local', 'NOERROR']]);
    expect(r.answer.records[0]).toMatchObject({ type: 'A', address: c.service('shop', 'web')!.spec.clusterIP });
    expect(resolve(c, webPod(c), 'kube-dns.kube-system').tried.map((q) => q.name)).toEqual(['kube-dns.kube-system.shop.svc.cluster.local', 'kube-dns.kube-system.svc.cluster.local']);
  });

  test('an Internet name with fewer than 5 dots tries every search domain first', () => {
    const c = eks();
    const r = resolve(c, webPod(c), 'api.github.com');
    expect(r.tried.map((q) => [q.name, q.response.status, q.response.server])).toEqual([
      ['api.github.com.shop.svc.cluster.local', 'NXDOMAIN', 'coredns'],
      ['api.github.com.svc.cluster.local', 'NXDOMAIN', 'coredns'],
      ['api.github.com.cluster.local', 'NXDOMAIN', 'coredns'],
      ['api.github.com.us-west-2.compute.internal', 'NXDOMAIN', 'vpc-resolver'],
      ['api.github.com', 'FORWARDED', 'upstream'],
    ]);
    expect(resolve(c, webPod(c), 'api.github.com.').tried).toHaveLength(1);
  });

  test('a host-network pod cannot resolve cluster names through the VPC resolver', () => {
    const c = eks();
    const r = resolve(c, c.pod('shop', 'agent')!, 'web.shop.svc.cluster.local');
    expect(r.answer.status).toBe('NXDOMAIN');
    expect(r.answer.server).toBe('vpc-resolver');
    // EC2 private DNS: the short node name goes through the node's search domain to ip-a-b-c-d → a.b.c.d.
    const node = c.nodes()[0]!.metadata.name;
    const nodeIP = c.nodeNetwork(node)!.internalIP;
    expect(node).toBe(`ip-${nodeIP.replace(/\./g, '-')}.us-west-2.compute.internal`);
    expect(resolve(c, c.pod('shop', 'agent')!, node.split('.')[0]!).answer.records).toEqual([{ name: node, type: 'A', address: nodeIP }]);
  });

  test('without CoreDNS endpoints, queries to kube-dns time out', () => {
    const c = eks();
    c.scale({ kind: 'Deployment', namespace: 'kube-system', name: 'coredns' }, 0);
    c.advance(30);
    const r = resolve(c, webPod(c), 'web');
    expect(r.answer.status).toBe('TIMEOUT');
    expect(r.tried).toHaveLength(1);
  });

  test('searchCandidates: ndots decides whether the name is tried as is first', () => {
    const conf = { nameservers: [], searches: ['a.svc', 'svc'], options: [{ name: 'ndots', value: '2' }] };
    expect(searchCandidates('x', conf)).toEqual(['x.a.svc', 'x.svc', 'x']);
    expect(searchCandidates('x.y.z', conf)).toEqual(['x.y.z', 'x.y.z.a.svc', 'x.y.z.svc']);
  });
});
