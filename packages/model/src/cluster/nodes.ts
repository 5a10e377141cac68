import type { Node } from '../api/index.js';
import { KubeNetsimError } from '../errors.js';
import type { ClusterState } from './cluster-state.js';
import { timestamp } from './cluster-state.js';
import type { NodeNetwork, NodeNetworkRequest } from './ipam.js';

export const LABEL_INSTANCE_TYPE = 'node.kubernetes.io/instance-type';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';

/** The Node's InternalIP from `status.addresses`. */
export function nodeInternalIP(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

/** Parses `status.capacity.pods` ("110"); undefined when absent or not a whole number. */
export function capacityPods(node: Node): number | undefined {
  const text = node.status?.capacity?.pods;
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    throw new KubeNetsimError('E_NODE_INVALID', `Expected status.capacity.pods to be a whole number, got ${JSON.stringify(text)}`, { object: `Node ${node.metadata.name}` });
  }
  return n;
}

/** Completes a Node with what its network gives it: InternalIP and Hostname addresses, podCIDR, pod capacity. */
export function completeNode(node: Node, network: NodeNetwork, maxPods: number): Node {
  node.spec ??= {};
  if (network.podCIDR && !node.spec.podCIDR) {
    node.spec.podCIDR = network.podCIDR;
    node.spec.podCIDRs = [network.podCIDR];
  }
  const status = (node.status ??= {});
  const addresses = (status.addresses ??= []);
  if (!addresses.some((a) => a.type === 'InternalIP')) addresses.unshift({ type: 'InternalIP', address: network.internalIP });
  if (!addresses.some((a) => a.type === 'Hostname')) addresses.push({ type: 'Hostname', address: node.metadata.name });
  status.capacity = { ...(status.capacity ?? {}), pods: status.capacity?.pods ?? String(maxPods) };
  status.allocatable = { ...(status.allocatable ?? {}), pods: status.allocatable?.pods ?? status.capacity.pods! };
  status.conditions ??= [{ type: 'Ready', status: 'True' }];
  return node;
}

/** Adds a given Node (observed): its own InternalIP, podCIDR and capacity are kept; the IPAM sets up its network. */
export function addGivenNode(s: ClusterState, given: Node): Node {
  const node = structuredClone(given);
  const name = node.metadata.name;
  if (!name) throw new KubeNetsimError('E_NODE_INVALID', 'A Node has no metadata.name', { object: 'Node' });
  if (s.nodes.has(name)) throw new KubeNetsimError('E_NODE_EXISTS', `Node ${name} is given twice`, { object: `Node ${name}` });
  const labels = node.metadata.labels ?? {};
  const internalIP = nodeInternalIP(node);
  const maxPods = capacityPods(node);
  const request: NodeNetworkRequest = {
    nodeName: name,
    ...(labels[LABEL_INSTANCE_TYPE] ? { instanceType: labels[LABEL_INSTANCE_TYPE] } : {}),
    ...(labels[LABEL_ZONE] ? { zone: labels[LABEL_ZONE] } : {}),
    ...(internalIP ? { internalIP } : {}),
    labels,
    ...(maxPods !== undefined ? { maxPods } : {}),
    ...(node.spec?.podCIDR ? { podCIDR: node.spec.podCIDR } : {}),
  };
  const network = s.ipam.addNode(request);
  node.metadata.uid ??= s.newUID();
  node.metadata.creationTimestamp ??= timestamp(s.now);
  completeNode(node, network, maxPods ?? network.defaultMaxPods);
  s.nodes.set(name, node);
  s.capacityGeneration++;
  return node;
}
