import type { AwsNodeEnv } from '../api/config.js';
import { KubeNetsimError } from '../errors.js';
import { CIDR } from '../ip/cidr.js';
import { cniConfigFromEnv, warmIPTargetsDefined } from './config.js';
import { instanceLimits, supportsPrefixDelegation } from './instance-limits.js';
import { eksAmiDefaultMaxPods, effectiveENILimit } from './max-pods.js';
import { PREFIX_SIZE, type SubnetSpec } from './vpc.js';
import { VpcCni } from './vpc-cni.js';

/** What `kube-netsim cni plan` asks. */
export interface PlanOptions {
  instanceType: string;
  /** Nodes, spread round-robin over the subnets. */
  nodes: number;
  /** Pods (not hostNetwork), spread round-robin over the nodes. */
  pods: number;
  /** Node subnets' CIDRs (default one 192.168.0.0/19, an eksctl private subnet). */
  subnets?: string[];
  /** aws-node env (WARM_ENI_TARGET, WARM_IP_TARGET, MINIMUM_IP_TARGET, ENABLE_PREFIX_DELEGATION, …). */
  env?: AwsNodeEnv;
  /** The kubelet's max pods (default: the EKS AMI's value for the type). */
  maxPods?: number;
}

/** The cluster's address use at one moment of a simulated scale-up. */
export interface PlanSnapshot {
  /** Pods that have an address. */
  podsRunning: number;
  /** Pods bound to a node that cannot get an address (ContainerCreating). */
  podsWaitingForIP: number;
  /** Pods no node has room for under the kubelet's max pods (Pending). */
  podsUnschedulable: number;
  /** Subnet addresses the nodes hold: node IPs, ENI primary IPs, secondary IPs or prefixes. */
  addressesHeld: number;
  /** Held addresses a pod uses. */
  assigned: number;
  /** Held pool addresses no pod uses (ipamd's warm pool). */
  warm: number;
  /** ENI primary IPs (the node IPs included): held, yet never a pod's. */
  eniPrimaryIPs: number;
  enisPerNode: number[];
  /** Subnet addresses each node holds. */
  heldPerNode: number[];
  freeInSubnets: number;
}

export type RunOutReason = 'subnet' | 'node-ip-capacity' | 'max-pods';

export interface PlanRun {
  label: string;
  env: AwsNodeEnv;
  /** State once `pods` pods were scheduled (or when addresses ran out before). */
  atTarget: PlanSnapshot;
  /** Running pods when the next pod could not get an address or a node; undefined if all of `limit` fit. */
  runsOutAt: number | undefined;
  reason: RunOutReason | undefined;
}

export interface PlanResult {
  instanceType: string;
  nodes: number;
  pods: number;
  maxPodsPerNode: number;
  /** Pods the kubelets accept in total: nodes × (max pods − 2), the 2 being aws-node and kube-proxy. */
  schedulablePods: number;
  prefixDelegation: boolean;
  subnets: { cidr: string; size: number; usable: number }[];
  /** The steady-state arithmetic of the warm-pool rule, per node, for the given settings. */
  formula: { lines: string[]; addressesPerNode: number[]; total: number };
  current: PlanRun;
  /**
   * The same scale-up in one unconstrained /16: the addresses the nodes hold at `pods` pods, the most that the nodes
   * of one of the given subnets hold (nodes go round-robin), and the smallest subnet prefix length that fits it.
   */
  unconstrained: { addressesHeld: number; perSubnet: number; prefixLength: number };
  /** The same scale-up under other settings, for comparison. */
  alternatives: PlanRun[];
}

const RETRY_TICKS = 30; // 150 s: an ENI attach plus the 120 s pause after a subnet error
const SETTLE_SECONDS = 60;

function zoneName(i: number): string {
  return `zone-${String.fromCharCode(97 + (i % 26))}`;
}

/** Scales a simulated cluster up pod by pod (one pod per node every 5 s) until `target` pods, then on until it runs out. */
function simulate(o: PlanOptions, subnets: SubnetSpec[], env: AwsNodeEnv, label: string, limit: number): PlanRun {
  const cni = new VpcCni({ vpcCIDRs: subnets.map((s) => s.cidr), subnets, env });
  const maxPods = o.maxPods ?? eksAmiDefaultMaxPods(instanceLimits(o.instanceType));
  const perNodeCap = Math.max(maxPods - 2, 0);
  const nodes: string[] = [];
  for (let i = 0; i < o.nodes; i++) {
    try {
      nodes.push(cni.addNode({ nodeName: `node-${i + 1}`, instanceType: o.instanceType, subnetCIDR: subnets[i % subnets.length]!.cidr, maxPods }).nodeName);
    } catch (e) {
      if (e instanceof KubeNetsimError && e.code === 'E_SUBNET_FULL') break;
      throw e;
    }
  }
  const podsOn = new Map(nodes.map((n) => [n, 0]));
  let running = 0;
  let snapshot: PlanSnapshot | undefined;
  let runsOutAt: number | undefined;
  let reason: RunOutReason | undefined;
  const take = (waiting: number, unschedulable: number): PlanSnapshot => {
    const statuses = nodes.map((n) => cni.nodeStatus(n));
    const held = nodes.reduce((sum, n) => sum + cni.addressesHeld(n), 0);
    const assigned = statuses.reduce((s, n) => s + n.assigned, 0);
    const pool = statuses.reduce((s, n) => s + n.totalIPs, 0);
    const primaries = statuses.reduce((s, n) => s + n.enis.length, 0);
    return {
      podsRunning: assigned,
      podsWaitingForIP: waiting,
      podsUnschedulable: unschedulable,
      addressesHeld: held,
      assigned,
      warm: pool - assigned,
      eniPrimaryIPs: primaries,
      enisPerNode: statuses.map((s) => s.enis.length),
      heldPerNode: nodes.map((n) => cni.addressesHeld(n)),
      freeInSubnets: cni.subnetStatus().reduce((s, x) => s + x.free, 0),
    };
  };
  if (nodes.length < o.nodes) {
    runsOutAt = 0;
    reason = 'subnet';
  }
  outer: while (runsOutAt === undefined && running < limit) {
    let placedThisRound = false;
    for (const node of nodes) {
      if (running >= limit) break;
      if (podsOn.get(node)! >= perNodeCap) continue;
      placedThisRound = true;
      const key = `default/pod-${running + 1}`;
      let ok = cni.assignPodIP(node, key).ok;
      for (let t = 0; !ok && t < RETRY_TICKS; t++) {
        cni.advance(5);
        ok = cni.assignPodIP(node, key).ok;
      }
      if (!ok) {
        runsOutAt = running;
        // Full ENIs at the ENI limit: the instance's limit; otherwise EC2 refused what ipamd asked of the subnet.
        const s = cni.nodeStatus(node);
        const full = s.enis.length >= s.maxENI && s.enis.every((e) => e.secondaryIPs.length + e.prefixes.length * PREFIX_SIZE >= s.maxIPsPerENI);
        reason = full ? 'node-ip-capacity' : 'subnet';
        break outer;
      }
      podsOn.set(node, podsOn.get(node)! + 1);
      running++;
      if (running === o.pods) {
        // Let ipamd react to the last pods before looking (attachments happen on the next ticks).
        cni.advance(SETTLE_SECONDS);
        snapshot = take(0, 0);
      }
    }
    if (!placedThisRound) {
      runsOutAt = running;
      reason = 'max-pods';
      break;
    }
    cni.advance(5);
  }
  if (!snapshot) {
    cni.advance(SETTLE_SECONDS);
    const unschedulable = Math.max(o.pods - Math.max(nodes.length * perNodeCap, running), 0);
    snapshot = take(Math.max(o.pods - running - unschedulable, 0), unschedulable);
  }
  return { label, env, atTarget: snapshot, runsOutAt, reason };
}

/** The steady state the warm-pool rules aim at for `pods` pods on one node (what the docs' tables compute). */
function steadyState(o: PlanOptions, env: AwsNodeEnv, podsOnNode: number): { line: string; addresses: number } {
  const limits = instanceLimits(o.instanceType);
  const c = cniConfigFromEnv(env);
  const maxENI = effectiveENILimit(limits, c.maxENI);
  const maxPods = o.maxPods ?? eksAmiDefaultMaxPods(limits);
  const M = limits.ipv4PerEni - 1;
  const pd = c.enablePrefixDelegation && supportsPrefixDelegation(limits);
  if (pd) {
    const prefixes = Math.min(
      warmIPTargetsDefined(c) ? Math.ceil(Math.max(podsOnNode + c.warmIPTarget, c.minimumIPTarget) / PREFIX_SIZE) : warmSteps(podsOnNode, PREFIX_SIZE, c.warmPrefixTarget),
      maxENI * M,
      Math.ceil(maxPods / PREFIX_SIZE),
    );
    const enis = Math.max(1, Math.ceil(prefixes / M));
    const addresses = prefixes * PREFIX_SIZE + enis;
    const rule = warmIPTargetsDefined(c)
      ? `ceil(max(${podsOnNode} + WARM_IP_TARGET ${c.warmIPTarget}, MINIMUM_IP_TARGET ${c.minimumIPTarget}) / 16)`
      : `ceil(${podsOnNode}/16) + WARM_PREFIX_TARGET ${c.warmPrefixTarget}`;
    return { line: `${podsOnNode} pods: prefixes = ${rule} = ${prefixes}; ${prefixes} × 16 + ${enis} ENI primary IP(s) = ${addresses}`, addresses };
  }
  if (warmIPTargetsDefined(c)) {
    const ips = Math.min(Math.max(podsOnNode + c.warmIPTarget, c.minimumIPTarget), maxENI * M);
    const enis = Math.max(1, Math.ceil(ips / M));
    const addresses = ips + enis;
    return { line: `${podsOnNode} pods: max(${podsOnNode} + WARM_IP_TARGET ${c.warmIPTarget}, MINIMUM_IP_TARGET ${c.minimumIPTarget}) = ${ips} IPs on ${enis} ENI(s) + ${enis} ENI primary IP(s) = ${addresses}`, addresses };
  }
  const enis = Math.max(1, Math.min(warmSteps(podsOnNode, M, c.warmENITarget), maxENI, Math.ceil(maxPods / M)));
  const addresses = enis * (M + 1);
  return {
    line: `${podsOnNode} pods: ENIs = min(ceil(${podsOnNode}/${M}) + WARM_ENI_TARGET ${c.warmENITarget}, max ENIs ${maxENI}, ceil(max pods ${maxPods}/${M})) = ${enis}; ${enis} × (${M} + 1 primary) = ${addresses}`,
    addresses,
  };
}

/**
 * Units (ENIs of `unit` IPs, or prefixes of 16) the WARM_ENI / WARM_PREFIX rule settles on for `pods` pods: it grows
 * while fewer than `unit × target` addresses are free, or, with target 0, while none is.
 */
function warmSteps(pods: number, unit: number, target: number): number {
  return target === 0 ? Math.floor(pods / unit) + 1 : Math.ceil(pods / unit) + target;
}

/**
 * Plans a node group's addresses by simulating ipamd: how many subnet addresses `nodes` nodes of a type hold with
 * `pods` pods (assigned and warm), when the subnets run out, and what other settings would change.
 */
export function planAddresses(o: PlanOptions): PlanResult {
  if (!Number.isInteger(o.nodes) || o.nodes < 1) throw new KubeNetsimError('E_PLAN_NODES', `Expected --nodes to be an integer ≥ 1, got ${o.nodes}`);
  if (!Number.isInteger(o.pods) || o.pods < 0) throw new KubeNetsimError('E_PLAN_PODS', `Expected --pods to be an integer ≥ 0, got ${o.pods}`);
  const limits = instanceLimits(o.instanceType);
  const cidrs = o.subnets?.length ? o.subnets : ['192.168.0.0/19'];
  const subnets: SubnetSpec[] = cidrs.map((cidr, i) => {
    const parsed = CIDR.parse(cidr, '--subnet');
    return { id: `subnet-${i + 1}`, cidr: parsed.toString(), zone: zoneName(i), public: false };
  });
  const env = o.env ?? {};
  const maxPods = o.maxPods ?? eksAmiDefaultMaxPods(limits);
  const schedulable = o.nodes * Math.max(maxPods - 2, 0);
  const limit = schedulable;
  const current = simulate(o, subnets, env, 'current settings', limit);
  const wide = simulate(o, [{ id: 'subnet-wide', cidr: '10.0.0.0/16', zone: zoneName(0), public: false }], env, 'one /16', Math.min(o.pods, limit));
  // Nodes go round-robin over the subnets: node i lands in subnet i mod k.
  const shares = subnets.map((_, k) => wide.atTarget.heldPerNode.reduce((sum, held, i) => sum + (i % subnets.length === k ? held : 0), 0));
  const perSubnet = Math.max(...shares);
  let prefixLength = 28;
  while (prefixLength > 16 && 2 ** (32 - prefixLength) - 5 < perSubnet) prefixLength--;
  const c = cniConfigFromEnv(env);
  const perNode = Array.from({ length: o.nodes }, (_, i) => Math.floor(o.pods / o.nodes) + (i < o.pods % o.nodes ? 1 : 0));
  const steady = perNode.map((p) => steadyState(o, env, Math.min(p, Math.max(maxPods - 2, 0))));
  const distinct = [...new Map(steady.map((s) => [s.line, s])).values()];
  const alternatives: PlanRun[] = [];
  const podsPerNode = Math.ceil(o.pods / o.nodes);
  if (!warmIPTargetsDefined(c) || c.warmIPTarget !== 2) {
    const alt = { ...env, WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: String(podsPerNode) };
    alternatives.push(simulate(o, subnets, alt, `WARM_IP_TARGET=2 MINIMUM_IP_TARGET=${podsPerNode}`, limit));
  }
  if (!c.enablePrefixDelegation && supportsPrefixDelegation(limits)) {
    const alt: AwsNodeEnv = { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' };
    alternatives.push(simulate({ ...o, maxPods: Math.max(maxPods, 110) }, subnets, alt, 'ENABLE_PREFIX_DELEGATION=true WARM_PREFIX_TARGET=1 (max pods ≥ 110)', limit));
  }
  if (c.enablePrefixDelegation || warmIPTargetsDefined(c) || c.warmENITarget !== 1) {
    alternatives.push(simulate(o, subnets, {}, 'EKS defaults (WARM_ENI_TARGET=1)', limit));
  }
  return {
    instanceType: o.instanceType,
    nodes: o.nodes,
    pods: o.pods,
    maxPodsPerNode: maxPods,
    schedulablePods: schedulable,
    prefixDelegation: c.enablePrefixDelegation && supportsPrefixDelegation(limits),
    subnets: subnets.map((s) => {
      const size = CIDR.parse(s.cidr).size;
      return { cidr: s.cidr, size, usable: size - 5 };
    }),
    formula: {
      lines: distinct.map((s) => s.line),
      addressesPerNode: steady.map((s) => s.addresses),
      total: steady.reduce((sum, s) => sum + s.addresses, 0),
    },
    current,
    unconstrained: { addressesHeld: wide.atTarget.addressesHeld, perSubnet, prefixLength },
    alternatives,
  };
}
