import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ClusterConfig } from '../api/config.js';
import { CIDR } from '../ip/index.js';
import { eksNodeName, nodeGroupLabels, nodeGroupPlacements, nodeLabels, resolveClusterConfig } from './eks-defaults.js';
import { thrown } from '../../test/support/thrown.js';

const config = (rest: Omit<ClusterConfig, 'apiVersion' | 'kind' | 'metadata'> & { metadata?: ClusterConfig['metadata'] }): ClusterConfig => ({
  apiVersion: 'eksctl.io/v1alpha5',
  kind: 'ClusterConfig',
  metadata: { name: 'shop', region: 'us-west-2' },
  ...rest,
});

describe('resolveClusterConfig: eksctl and EKS defaults', () => {
  it('with no ClusterConfig: us-west-2, three zones, 192.168.0.0/16, 10.100.0.0/16, no node groups', () => {
    const r = resolveClusterConfig();
    expect(r.region).toBe('us-west-2');
    expect(r.zones).toEqual(['us-west-2a', 'us-west-2b', 'us-west-2c']);
    expect(r.vpcCIDRs).toEqual(['192.168.0.0/16']);
    expect(r.serviceCIDR).toBe('10.100.0.0/16');
    expect(r.clusterDomain).toBe('cluster.local');
    expect(r.nodeGroups).toEqual([]);
  });

  it('cuts the VPC into /19s like eksctl: publics first, then privates (a real eksctl stack has private 1a/1b/1c at .96/.128/.160)', () => {
    const r = resolveClusterConfig(config({ metadata: { name: 'x', region: 'us-east-1' }, availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'] }));
    expect(r.subnets.map((s) => [s.public ? 'public' : 'private', s.zone, s.cidr])).toEqual([
      ['public', 'us-east-1a', '192.168.0.0/19'],
      ['public', 'us-east-1b', '192.168.32.0/19'],
      ['public', 'us-east-1c', '192.168.64.0/19'],
      ['private', 'us-east-1a', '192.168.96.0/19'],
      ['private', 'us-east-1b', '192.168.128.0/19'],
      ['private', 'us-east-1c', '192.168.160.0/19'],
    ]);
  });

  it('uses two zones in us-east-1, so the privates start at the third block', () => {
    const r = resolveClusterConfig(config({ metadata: { name: 'x', region: 'us-east-1' } }));
    expect(r.zones).toEqual(['us-east-1a', 'us-east-1b']);
    expect(r.subnets.filter((s) => !s.public).map((s) => s.cidr)).toEqual(['192.168.64.0/19', '192.168.96.0/19']);
  });

  it('splits into 16 blocks when more than four zones are asked for', () => {
    const zones = ['a', 'b', 'c', 'd', 'e'].map((l) => `us-west-2${l}`);
    const r = resolveClusterConfig(config({ availabilityZones: zones, vpc: { cidr: '10.0.0.0/16' } }));
    expect(r.subnets[0]!.cidr).toBe('10.0.0.0/20');
    expect(r.subnets[5]!.cidr).toBe('10.0.80.0/20');
  });

  it('picks 172.20.0.0/16 for Services when the VPC is inside 10.0.0.0/8, 10.100.0.0/16 otherwise', () => {
    expect(resolveClusterConfig(config({ vpc: { cidr: '10.0.0.0/16' } })).serviceCIDR).toBe('172.20.0.0/16');
    expect(resolveClusterConfig(config({ vpc: { cidr: '172.31.0.0/16' } })).serviceCIDR).toBe('10.100.0.0/16');
    expect(resolveClusterConfig(config({ kubernetesNetworkConfig: { serviceIPv4CIDR: '10.96.0.0/12' } })).serviceCIDR).toBe('10.96.0.0/12');
  });

  it('node groups: 2 × m5.large in the public subnets of every zone; privateNetworking moves them', () => {
    const r = resolveClusterConfig(config({ nodeGroups: [{ name: 'ng-1' }, { name: 'ng-2', privateNetworking: true, availabilityZones: ['us-west-2b'] }] }));
    const [a, b] = r.nodeGroups;
    expect(a).toMatchObject({ name: 'ng-1', managed: false, instanceType: 'm5.large', desiredCapacity: 2, privateNetworking: false, zones: ['us-west-2a', 'us-west-2b', 'us-west-2c'], taints: [] });
    expect(a!.subnets.map((id) => r.subnets.find((s) => s.id === id)!.cidr)).toEqual(['192.168.0.0/19', '192.168.32.0/19', '192.168.64.0/19']);
    expect(b!.zones).toEqual(['us-west-2b']);
    expect(b!.subnets.map((id) => r.subnets.find((s) => s.id === id)!.cidr)).toEqual(['192.168.128.0/19']);
  });

  it('desiredCapacity falls back to minSize, then 2 capped by maxSize', () => {
    const r = resolveClusterConfig(config({ managedNodeGroups: [{ name: 'a', minSize: 4 }, { name: 'b', maxSize: 1 }, { name: 'c', maxSize: 9 }] }));
    expect(r.nodeGroups.map((g) => [g.desiredCapacity, g.managed])).toEqual([[4, true], [1, true], [2, true]]);
  });

  it('reads taints as a list or as eksctl\'s older `key: value:effect` map', () => {
    const r = resolveClusterConfig(config({
      nodeGroups: [
        { name: 'a', taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] },
        { name: 'b', taints: { dedicated: 'db:NoExecute', spot: ':PreferNoSchedule' } },
      ],
    }));
    expect(r.nodeGroups[0]!.taints).toEqual([{ key: 'gpu', value: 'true', effect: 'NoSchedule' }]);
    expect(r.nodeGroups[1]!.taints).toEqual([{ key: 'dedicated', value: 'db', effect: 'NoExecute' }, { key: 'spot', effect: 'PreferNoSchedule' }]);
  });

  it('takes given subnets as they are, zones from them, extra CIDR blocks included', () => {
    const r = resolveClusterConfig(config({
      vpc: {
        cidr: '10.0.0.0/16',
        extraCIDRs: ['100.64.0.0/16'],
        subnets: {
          private: {
            'private-a': { id: 'subnet-0a', cidr: '10.0.1.0/24', az: 'us-west-2a' },
            'us-west-2b': { cidr: '100.64.0.0/20' },
          },
        },
      },
      nodeGroups: [{ name: 'ng', privateNetworking: true, desiredCapacity: 3 }],
    }));
    expect(r.vpcCIDRs).toEqual(['10.0.0.0/16', '100.64.0.0/16']);
    expect(r.zones).toEqual(['us-west-2a', 'us-west-2b']);
    expect(r.subnets).toEqual([
      { id: 'subnet-0a', name: 'private-a', cidr: '10.0.1.0/24', zone: 'us-west-2a', public: false },
      { id: 'subnet-private-us-west-2b', name: 'us-west-2b', cidr: '100.64.0.0/20', zone: 'us-west-2b', public: false },
    ]);
    expect(nodeGroupPlacements(r.nodeGroups[0]!, r).map((s) => s.zone)).toEqual(['us-west-2a', 'us-west-2b', 'us-west-2a']);
  });
});

describe('resolveClusterConfig: errors', () => {
  it('a subnet outside the VPC', () => {
    const e = thrown(() => resolveClusterConfig(config({ vpc: { cidr: '10.0.0.0/16', subnets: { public: { a: { cidr: '10.1.0.0/24', az: 'us-west-2a' } } } } })));
    expect(e.code).toBe('E_EKS_SUBNET_OUTSIDE_VPC');
    expect(e.message).toContain('10.1.0.0/24');
  });

  it('overlapping subnets, overlapping VPC blocks, a service CIDR overlapping the VPC', () => {
    expect(thrown(() => resolveClusterConfig(config({ vpc: { cidr: '10.0.0.0/16', subnets: { public: { a: { cidr: '10.0.0.0/24', az: 'us-west-2a' }, b: { cidr: '10.0.0.128/25', az: 'us-west-2b' } } } } }))).code).toBe('E_EKS_CIDR_OVERLAP');
    expect(thrown(() => resolveClusterConfig(config({ vpc: { cidr: '10.0.0.0/16', secondaryCIDRs: ['10.0.128.0/17'] } }))).code).toBe('E_EKS_CIDR_OVERLAP');
    expect(thrown(() => resolveClusterConfig(config({ kubernetesNetworkConfig: { serviceIPv4CIDR: '192.168.0.0/20' } }))).code).toBe('E_EKS_CIDR_OVERLAP');
  });

  it('a zone outside the region, or one the cluster does not use', () => {
    expect(thrown(() => resolveClusterConfig(config({ availabilityZones: ['us-west-2a', 'eu-west-1b'] }))).code).toBe('E_EKS_ZONE');
    const e = thrown(() => resolveClusterConfig(config({ availabilityZones: ['us-west-2a', 'us-west-2b'], nodeGroups: [{ name: 'x', availabilityZones: ['us-west-2d'] }] })));
    expect(e.code).toBe('E_EKS_ZONE');
    expect(e.object).toBe('ClusterConfig shop');
  });

  it('passes the offending field path to `locate`', () => {
    const paths: unknown[] = [];
    const e = thrown(() => resolveClusterConfig(config({ vpc: { cidr: 'nope' } }), { locate: (p) => (paths.push(p), { file: 'c.yaml', line: 3, column: 9 }) }));
    expect(paths).toEqual([['vpc', 'cidr']]);
    expect(e.format()).toMatch(/^c\.yaml:3:9: ClusterConfig shop: Expected `vpc.cidr` to be a CIDR/);
  });

  it('private networking without private subnets, and an unknown subnet name', () => {
    const vpc = { cidr: '10.0.0.0/16', subnets: { public: { 'us-west-2a': { cidr: '10.0.0.0/24' }, 'us-west-2b': { cidr: '10.0.1.0/24' } } } };
    expect(thrown(() => resolveClusterConfig(config({ vpc, nodeGroups: [{ name: 'p', privateNetworking: true }] }))).code).toBe('E_EKS_UNKNOWN_SUBNET');
    expect(thrown(() => resolveClusterConfig(config({ vpc, nodeGroups: [{ name: 'p', subnets: ['nope'] }] }))).code).toBe('E_EKS_UNKNOWN_SUBNET');
  });
});

describe('eksctl layout properties', () => {
  it('for any /16–/24 VPC and 2–8 zones, subnets are disjoint, inside the VPC, equal-sized, publics before privates', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 16, max: 24 }), fc.integer({ min: 2, max: 8 }), (raw, len, n) => {
        const vpc = CIDR.fromIPv4(raw, len);
        const zones = 'abcdefgh'.slice(0, n).split('').map((l) => `eu-west-1${l}`);
        const r = resolveClusterConfig(config({ metadata: { name: 'p', region: 'eu-west-1' }, vpc: { cidr: vpc.toString() }, availabilityZones: zones, kubernetesNetworkConfig: {} }));
        const cidrs = r.subnets.map((s) => CIDR.parse(s.cidr));
        expect(cidrs).toHaveLength(2 * n);
        for (const c of cidrs) expect(vpc.covers(c)).toBe(true);
        for (let i = 0; i < cidrs.length; i++) for (let j = 0; j < i; j++) expect(cidrs[i]!.overlaps(cidrs[j]!)).toBe(false);
        expect(new Set(cidrs.map((c) => c.prefixLength)).size).toBe(1);
        expect(r.subnets.map((s) => s.public)).toEqual([...Array(n).fill(true), ...Array(n).fill(false)]);
      }),
    );
  });
});

describe('EKS rules as properties', () => {
  it('the service CIDR is 172.20.0.0/16 exactly when the VPC is inside 10.0.0.0/8', () => {
    const ten = CIDR.parse('10.0.0.0/8');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 16, max: 24 }), (raw, len) => {
        const vpc = CIDR.fromIPv4(raw, len);
        const r = resolveClusterConfig(config({ vpc: { cidr: vpc.toString() } }));
        expect(r.serviceCIDR).toBe(ten.covers(vpc) ? '172.20.0.0/16' : '10.100.0.0/16');
      }),
    );
  });

  it('a node group spreads its nodes over its zones evenly (counts differ by at most one)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.subarray(['us-west-2a', 'us-west-2b', 'us-west-2c'], { minLength: 1 }), (n, zones) => {
        const r = resolveClusterConfig(config({ nodeGroups: [{ name: 'ng', desiredCapacity: n, availabilityZones: zones }] }));
        const placed = nodeGroupPlacements(r.nodeGroups[0]!, r);
        expect(placed).toHaveLength(n);
        const counts = zones.map((z) => placed.filter((s) => s.zone === z).length);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        expect(placed.every((s) => s.public)).toBe(true);
      }),
    );
  });
});

describe('node names and labels', () => {
  it('names nodes as EC2 does', () => {
    expect(eksNodeName('10.0.12.34', 'us-east-1')).toBe('ip-10-0-12-34.ec2.internal');
    expect(eksNodeName('192.168.5.7', 'eu-west-1')).toBe('ip-192-168-5-7.eu-west-1.compute.internal');
  });

  it('labels nodes as the kubelet, eksctl and EKS do; the group\'s labels win', () => {
    const r = resolveClusterConfig(config({ managedNodeGroups: [{ name: 'mng', instanceType: 't3.small', labels: { role: 'web' } }], nodeGroups: [{ name: 'ng' }] }));
    expect(nodeGroupLabels(r.nodeGroups[1]!, 'shop')).toEqual({
      'node.kubernetes.io/instance-type': 't3.small',
      'alpha.eksctl.io/cluster-name': 'shop',
      'alpha.eksctl.io/nodegroup-name': 'mng',
      'eks.amazonaws.com/nodegroup': 'mng',
      'eks.amazonaws.com/capacityType': 'ON_DEMAND',
      role: 'web',
    });
    expect(nodeGroupLabels(r.nodeGroups[0]!)).not.toHaveProperty('eks.amazonaws.com/nodegroup');
    expect(nodeLabels(r.nodeGroups[0]!, { zone: 'us-west-2b', region: 'us-west-2', name: 'ip-192-168-40-1.us-west-2.compute.internal' })).toMatchObject({
      'topology.kubernetes.io/zone': 'us-west-2b',
      'topology.kubernetes.io/region': 'us-west-2',
      'kubernetes.io/hostname': 'ip-192-168-40-1.us-west-2.compute.internal',
    });
  });
});
