import { KubeNetsimError } from '../errors.js';
import { CIDR, intToIPv4, ipv4ToInt } from '../ip/index.js';
import type { NodeNetwork, NodeNetworkRequest, PodIPAM, PodIPResult } from './ipam.js';
import { fnv32a } from './names.js';

/** A subnet the host-local IPAM may take node IPs from (the VPC's, when the input is EKS-style). */
export interface HostLocalSubnet {
  id?: string;
  cidr: string;
  zone?: string;
}

export interface HostLocalIPAMOptions {
  /** The cluster's pod CIDR, cut into one range per node (kube-controller-manager `--cluster-cidr`). Default `10.244.0.0/16`. */
  clusterCIDR?: string;
  /** Prefix length of each node's range (`--node-cidr-mask-size`). Default 24. */
  nodeCIDRMaskSize?: number;
  /** Where node IPs come from when a node does not bring its own InternalIP. */
  subnets?: HostLocalSubnet[];
  /** The kubelet's default `--max-pods`. Default 110. */
  maxPods?: number;
}

interface NodeRange {
  network: NodeNetwork;
  range: CIDR;
  /** Offset in `range` of the last address handed out: host-local continues after it and wraps. */
  lastReserved: number;
  /** Offset → pod key. */
  used: Map<number, string>;
  /** Pod key → IP, for idempotent assignment. */
  pods: Map<string, string>;
}

/** A container runtime sandbox id (64 hex digits), derived from the pod so messages are reproducible. */
function sandboxID(podKey: string): string {
  let out = '';
  for (let i = 0; i < 8; i++) out += fnv32a(`${i}/${podKey}`).toString(16).padStart(8, '0');
  return out;
}

/** The first four addresses and the last of every AWS subnet are reserved (network, router, DNS, future, broadcast). */
const SUBNET_RESERVED_LOW = 4;

/**
 * Pod IPs like kubenet: every node gets a range (`spec.podCIDR`, a /24 of the cluster CIDR by default) with the
 * bridge gateway at its first address, and the `host-local` plugin hands out the others in order, continuing after
 * the last one it gave and wrapping — so a released IP is reused only after the range has gone round once.
 */
export class HostLocalIPAM implements PodIPAM {
  readonly name = 'host-local';
  readonly clusterCIDR: CIDR;
  readonly nodeCIDRMaskSize: number;
  readonly maxPods: number;
  readonly subnets: readonly HostLocalSubnet[];
  #now = 0;
  #nodes = new Map<string, NodeRange>();
  /** Node IPs in use, so two nodes never share one. */
  #nodeIPs = new Set<string>();

  constructor(options: HostLocalIPAMOptions = {}) {
    this.clusterCIDR = CIDR.parse(options.clusterCIDR ?? '10.244.0.0/16', 'the cluster CIDR');
    this.nodeCIDRMaskSize = options.nodeCIDRMaskSize ?? 24;
    if (this.clusterCIDR.family !== 'IPv4' || this.nodeCIDRMaskSize < this.clusterCIDR.prefixLength || this.nodeCIDRMaskSize > 30) {
      throw new KubeNetsimError('E_IPAM_CONFIG', `Expected a node CIDR mask size between /${this.clusterCIDR.prefixLength} and /30 inside the IPv4 cluster CIDR ${this.clusterCIDR.toString()}, got /${this.nodeCIDRMaskSize}`);
    }
    this.maxPods = options.maxPods ?? 110;
    this.subnets = options.subnets ?? [];
  }

  get now(): number {
    return this.#now;
  }

  addNode(request: NodeNetworkRequest): NodeNetwork {
    const internalIP = request.internalIP ?? this.#pickNodeIP(request);
    const nodeName = typeof request.nodeName === 'function' ? request.nodeName(internalIP) : request.nodeName;
    if (this.#nodes.has(nodeName)) {
      throw new KubeNetsimError('E_NODE_EXISTS', `Node ${nodeName} already has a network`, { object: `Node ${nodeName}` });
    }
    if (this.#nodeIPs.has(internalIP)) {
      throw new KubeNetsimError('E_NODE_IP_IN_USE', `The node IP ${internalIP} is already another node's`, { object: `Node ${nodeName}` });
    }
    const range = request.podCIDR ? CIDR.parse(request.podCIDR, `spec.podCIDR of Node ${nodeName}`) : this.#nextRange(nodeName);
    const overlapping = [...this.#nodes.values()].find((n) => n.range.overlaps(range));
    if (overlapping) {
      throw new KubeNetsimError('E_POD_CIDR_OVERLAP', `The pod range ${range.toString()} of Node ${nodeName} overlaps ${overlapping.range.toString()} of Node ${overlapping.network.nodeName}`, {
        object: `Node ${nodeName}`,
        hint: 'give every node its own spec.podCIDR',
      });
    }
    const gateway = range.nth(1);
    const network: NodeNetwork = {
      nodeName,
      internalIP,
      localAddresses: [internalIP, gateway],
      defaultMaxPods: this.maxPods,
      podCIDR: range.toString(),
    };
    this.#nodes.set(nodeName, { network, range, lastReserved: 1, used: new Map(), pods: new Map() });
    this.#nodeIPs.add(internalIP);
    return structuredClone(network);
  }

  removeNode(nodeName: string): void {
    const node = this.#nodes.get(nodeName);
    if (!node) return;
    this.#nodeIPs.delete(node.network.internalIP);
    this.#nodes.delete(nodeName);
  }

  node(nodeName: string): NodeNetwork | undefined {
    const node = this.#nodes.get(nodeName);
    return node ? structuredClone(node.network) : undefined;
  }

  assignPodIP(nodeName: string, podKey: string): PodIPResult {
    const node = this.#nodes.get(nodeName);
    if (!node) return { ok: false, reason: 'FailedCreatePodSandBox', message: `host-local: node ${nodeName} has no pod range` };
    const existing = node.pods.get(podKey);
    if (existing) return { ok: true, ip: existing };
    // Usable offsets: 2 .. size-2 (network, gateway and broadcast are never handed out).
    const first = 2;
    const last = node.range.size - 2;
    const count = last - first + 1;
    for (let i = 1; i <= count; i++) {
      const offset = first + ((node.lastReserved - first + i) % count + count) % count;
      if (!node.used.has(offset)) {
        node.used.set(offset, podKey);
        node.lastReserved = offset;
        const ip = node.range.nth(offset);
        node.pods.set(podKey, ip);
        return { ok: true, ip };
      }
    }
    return {
      ok: false,
      reason: 'FailedCreatePodSandBox',
      message: `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${sandboxID(podKey)}": plugin type="host-local" failed (add): failed to allocate for range 0: no IP addresses available in range set: ${node.range.nth(1)}-${node.range.nth(node.range.size - 2)}`,
    };
  }

  claimPodIP(nodeName: string, podKey: string, ip: string): PodIPResult {
    const node = this.#nodes.get(nodeName);
    if (!node) return { ok: false, reason: 'FailedCreatePodSandBox', message: `host-local: node ${nodeName} has no pod range` };
    if (node.range.contains(ip)) {
      const offset = ipv4ToInt(ip) - node.range.base;
      const holder = node.used.get(offset);
      if (holder !== undefined && holder !== podKey) {
        return { ok: false, reason: 'FailedCreatePodSandBox', message: `host-local: ${ip} is already reserved for ${holder}` };
      }
      node.used.set(offset, podKey);
    }
    node.pods.set(podKey, ip);
    return { ok: true, ip };
  }

  releasePodIP(nodeName: string, podKey: string): void {
    const node = this.#nodes.get(nodeName);
    const ip = node?.pods.get(podKey);
    if (!node || ip === undefined) return;
    node.pods.delete(podKey);
    if (node.range.contains(ip)) node.used.delete(ipv4ToInt(ip) - node.range.base);
  }

  advance(seconds: number): void {
    this.#now += seconds;
  }

  clone(): HostLocalIPAM {
    const copy = new HostLocalIPAM({
      clusterCIDR: this.clusterCIDR.toString(),
      nodeCIDRMaskSize: this.nodeCIDRMaskSize,
      subnets: [...this.subnets],
      maxPods: this.maxPods,
    });
    copy.#now = this.#now;
    copy.#nodeIPs = new Set(this.#nodeIPs);
    for (const [name, n] of this.#nodes) {
      copy.#nodes.set(name, { network: structuredClone(n.network), range: n.range, lastReserved: n.lastReserved, used: new Map(n.used), pods: new Map(n.pods) });
    }
    return copy;
  }

  /** The lowest node range of the cluster CIDR no node holds (the node IPAM controller's range allocator). */
  #nextRange(nodeName: string): CIDR {
    const taken = new Set([...this.#nodes.values()].map((n) => n.range.base));
    const step = 2 ** (32 - this.nodeCIDRMaskSize);
    for (let base = this.clusterCIDR.base; this.clusterCIDR.containsInt(base); base += step) {
      if (!taken.has(base)) return CIDR.fromIPv4(base, this.nodeCIDRMaskSize);
      if (base + step > 0xffffffff) break;
    }
    throw new KubeNetsimError('E_IPAM_CLUSTER_CIDR_FULL', `No free /${this.nodeCIDRMaskSize} left in the cluster CIDR ${this.clusterCIDR.toString()} for Node ${nodeName}`, {
      object: `Node ${nodeName}`,
      hint: 'use a larger cluster CIDR or a longer node CIDR mask',
    });
  }

  /** The lowest free address of the node's subnet, after the four AWS reserves. */
  #pickNodeIP(request: NodeNetworkRequest): string {
    const subnet =
      (request.subnetCIDR !== undefined ? { cidr: request.subnetCIDR } : undefined) ??
      this.subnets.find((s) => request.zone !== undefined && s.zone === request.zone) ??
      this.subnets[0];
    const what = typeof request.nodeName === 'string' ? `Node ${request.nodeName}` : 'a node';
    if (!subnet) {
      throw new KubeNetsimError('E_NODE_NO_ADDRESS', `${what} has no InternalIP and there is no subnet to take one from`, {
        hint: 'give the Node status.addresses with an InternalIP, or a ClusterConfig with subnets',
      });
    }
    const cidr = CIDR.parse(subnet.cidr, 'the subnet CIDR');
    for (let offset = SUBNET_RESERVED_LOW; offset < cidr.size - 1; offset++) {
      const ip = intToIPv4(cidr.base + offset);
      if (!this.#nodeIPs.has(ip)) return ip;
    }
    throw new KubeNetsimError('E_SUBNET_FULL', `The subnet ${cidr.toString()} has no free address for ${what}`);
  }
}
