import limitsData from '../../data/aws-eni-limits.json' with { type: 'json' };
import { KubeNetsimError } from '../errors.js';

/**
 * EC2 networking limits of one instance type, as ipamd sees them (`pkg/vpc/vpc_ip_resource_limit.go` in
 * aws/amazon-vpc-cni-k8s; see `data/aws-eni-limits.json` and `docs/cni.md` for the snapshot).
 */
export interface InstanceLimits {
  instanceType: string;
  /** ENIs ipamd may attach on the default network card, the primary ENI included. */
  eniLimit: number;
  /** IPv4 addresses per ENI, the ENI's own primary IP included (ipamd gives `ipv4PerEni - 1` to pods). */
  ipv4PerEni: number;
  hypervisor: 'nitro' | 'xen' | 'unknown';
  isBareMetal: boolean;
  defaultNetworkCardIndex: number;
  networkCards: { networkCardIndex: number; maximumNetworkInterfaces: number }[];
}

type Row = Omit<InstanceLimits, 'instanceType'>;
const table = limitsData as unknown as Record<string, Row>;

/** Every instance type in the shipped table, sorted. */
export function knownInstanceTypes(): string[] {
  return Object.keys(table);
}

/** The limits of `instanceType`, or `undefined` when the table does not know it. */
export function findInstanceLimits(instanceType: string): InstanceLimits | undefined {
  const row = Object.prototype.hasOwnProperty.call(table, instanceType) ? table[instanceType] : undefined;
  return row ? { instanceType, ...row } : undefined;
}

/**
 * The limits of `instanceType`; an unknown type throws `E_UNKNOWN_INSTANCE_TYPE` naming the nearest known types.
 * (The real ipamd would ask EC2 `DescribeInstanceTypes`; the simulator has only its table.)
 */
export function instanceLimits(instanceType: string, where?: string): InstanceLimits {
  const found = findInstanceLimits(instanceType);
  if (found) return found;
  const near = nearestInstanceTypes(instanceType);
  throw new KubeNetsimError('E_UNKNOWN_INSTANCE_TYPE', `Unknown instance type ${JSON.stringify(instanceType)}`, {
    ...(where ? { object: where } : {}),
    hint: near.length ? `did you mean ${near.join(', ')}?` : 'use a type such as m5.large (see `kube-netsim cni max-pods --all`)',
  });
}

/** Prefix delegation needs a Nitro or bare-metal instance (`IsPrefixDelegationSupported`). */
export function supportsPrefixDelegation(limits: InstanceLimits): boolean {
  return limits.hypervisor === 'nitro' || limits.isBareMetal;
}

/** Levenshtein distance (insert, delete, substitute: cost 1 each). */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Up to `count` known instance types closest to `name` by edit distance (ties: same family first, then by name). */
export function nearestInstanceTypes(name: string, count = 3): string[] {
  const lower = name.trim().toLowerCase();
  const family = lower.split('.')[0] ?? '';
  return knownInstanceTypes()
    .map((t) => ({ t, d: editDistance(lower, t), sameFamily: t.split('.')[0] === family ? 0 : 1 }))
    .sort((x, y) => x.d - y.d || x.sameFamily - y.sameFamily || (x.t < y.t ? -1 : 1))
    .slice(0, count)
    .map((x) => x.t);
}
