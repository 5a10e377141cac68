import { IpSlotPool, LpmTable, loadDatapath } from '@kube-netsim/datapath';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AwsNodeEnv } from '../api/index.js';
import { intToIPv4, ipv4ToInt } from '../ip/address.js';
import { CIDR } from '../ip/cidr.js';
import { IpSlotPoolAdapter } from './slot-pool.js';
import type { VpcBackends } from './vpc.js';
import { VpcCni } from './vpc-cni.js';

/**
 * Differential test: the VPC CNI on the datapath's WebAssembly tables (LpmTable for ownership, IpSlotPool for
 * the subnets' addresses) against the plain TypeScript ones (MapOwnershipIndex, BitmapSlotPool), driven by the
 * same random pod churn: every node's ENIs and addresses, every subnet's counts, and the owner of every address
 * must be identical.
 */
let wasm: VpcBackends;
beforeAll(async () => {
  const dp = await loadDatapath();
  wasm = {
    slotPool: (size) => new IpSlotPoolAdapter(new IpSlotPool(dp, { slots: size, cooldownSeconds: 0 }), size),
    ownershipIndex: () => new LpmTable(dp, { capacity: 256 }),
  };
});

const subnets = [
  { id: 'subnet-a', cidr: '10.0.0.0/25', zone: 'us-west-2a', public: false },
  { id: 'subnet-b', cidr: '10.0.1.0/26', zone: 'us-west-2b', public: false },
];

function everything(cni: VpcCni): unknown {
  const owners: unknown[] = [];
  for (const s of subnets) {
    const cidr = CIDR.parse(s.cidr);
    for (let i = 0; i < cidr.size; i++) owners.push(cni.owner(intToIPv4(cidr.base + i)));
  }
  owners.push(cni.owner('10.0.2.1'), cni.owner('192.168.0.1'));
  // The batch path answers the same as one lookup at a time.
  const all: number[] = [];
  for (const s of subnets) {
    const cidr = CIDR.parse(s.cidr);
    for (let i = 0; i < cidr.size; i++) all.push(cidr.base + i);
  }
  all.push(ipv4ToInt('10.0.2.1'), ipv4ToInt('192.168.0.1'));
  expect(cni.ownersOf(all)).toEqual(owners);
  return { nodes: cni.nodeNames().map((n) => cni.nodeStatus(n)), subnets: cni.subnetStatus(), owners };
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), node: fc.nat(2), pod: fc.nat(30) }),
  fc.record({ kind: fc.constant('del' as const), pod: fc.nat(30) }),
  fc.record({ kind: fc.constant('tick' as const), seconds: fc.integer({ min: 1, max: 130 }) }),
  fc.record({ kind: fc.constant('removeNode' as const), node: fc.nat(2) }),
);

describe('VPC CNI on WebAssembly tables = on TypeScript tables', () => {
  it.each<[string, AwsNodeEnv]>([
    ['WARM_ENI_TARGET=1', {}],
    ['WARM_IP_TARGET=2 MINIMUM_IP_TARGET=3', { WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '3' }],
    ['prefix delegation', { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' }],
  ])('%s: same state after random churn', (_, env) => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const ts = new VpcCni({ vpcCIDRs: ['10.0.0.0/16'], subnets, env });
        const dp = new VpcCni({ vpcCIDRs: ['10.0.0.0/16'], subnets, env, backends: wasm });
        const both = (f: (c: VpcCni) => unknown) => {
          const a = (() => {
            try {
              return f(ts);
            } catch (e) {
              return `error ${(e as Error).message}`;
            }
          })();
          const b = (() => {
            try {
              return f(dp);
            } catch (e) {
              return `error ${(e as Error).message}`;
            }
          })();
          expect(b).toEqual(a);
          return a;
        };
        const nodes = ['n0', 'n1', 'n2'];
        for (const n of nodes) both((c) => c.addNode({ nodeName: n, instanceType: 't3.medium', maxPods: 40 }));
        const placed = new Map<number, string>();
        for (const o of ops) {
          if (o.kind === 'tick') both((c) => c.advance(o.seconds));
          else if (o.kind === 'add' && !placed.has(o.pod) && ts.nodeNames().includes(nodes[o.node]!)) {
            if (both((c) => c.assignPodIP(nodes[o.node]!, `default/p${o.pod}`).ok) === true) placed.set(o.pod, nodes[o.node]!);
          } else if (o.kind === 'del' && placed.has(o.pod)) {
            both((c) => c.releasePodIP(placed.get(o.pod)!, `default/p${o.pod}`));
            placed.delete(o.pod);
          } else if (o.kind === 'removeNode') {
            both((c) => c.removeNode(nodes[o.node]!));
            for (const [p, n] of placed) if (n === nodes[o.node]) placed.delete(p);
          }
        }
        both(everything);
        both((c) => c.events());
      }),
      { numRuns: 25 },
    );
  });

  it('a clone on WebAssembly tables is independent of its original', () => {
    const a = new VpcCni({ vpcCIDRs: ['10.0.0.0/16'], subnets, backends: wasm });
    a.addNode({ nodeName: 'n0', instanceType: 't3.medium' });
    const before = JSON.stringify(everything(a));
    const b = a.clone();
    b.addNode({ nodeName: 'n1', instanceType: 't3.medium' });
    b.assignPodIP('n0', 'default/p');
    b.advance(60);
    expect(JSON.stringify(everything(a))).toBe(before);
    expect(JSON.stringify(everything(b))).not.toBe(before);
  });
});
