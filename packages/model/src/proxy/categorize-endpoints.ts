import { type EndpointInfo, type ServicePortInfo, usesClusterEndpoints, usesLocalEndpoints } from './service-port.js';

// pkg/proxy/topology.go: CategorizeEndpoints and topology hints.

/** The endpoint sets of one service port on one node. */
export interface CategorizedEndpoints {
  /** Used under traffic policy Cluster: Ready (topology-filtered), else Serving∧Terminating. */
  clusterEndpoints: EndpointInfo[];
  /** Used under traffic policy Local: local Ready, else local Serving∧Terminating. */
  localEndpoints: EndpointInfo[];
  /** Cluster ∪ Local: the endpoints that get a KUBE-SEP chain (cluster ones first, then local-only ones). */
  allReachableEndpoints: EndpointInfo[];
  /** Some usable endpoint exists anywhere in the cluster. */
  hasAnyEndpoints: boolean;
}

/** What the node knows about itself for topology: its name and labels (`topology.kubernetes.io/zone`). */
export interface TopologyContext {
  nodeName: string;
  nodeLabels?: Record<string, string>;
  /** Feature gate `PreferSameTrafficDistribution` (node hints); off by default in v1.33. */
  preferSameTrafficDistribution?: boolean;
}

type TopologyMode = '' | 'PreferSameNode' | 'PreferSameZone';

function topologyModeFromHints(endpoints: readonly EndpointInfo[], ctx: TopologyContext): TopologyMode {
  const zone = ctx.nodeLabels?.['topology.kubernetes.io/zone'] ?? '';
  let hasForNode = false;
  let allHaveNodeHints = true;
  let hasForZone = false;
  let allHaveZoneHints = true;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    if (ep.nodeHints.length === 0) allHaveNodeHints = false;
    else if (ep.nodeHints.includes(ctx.nodeName)) hasForNode = true;
    if (ep.zoneHints.length === 0) allHaveZoneHints = false;
    else if (ep.zoneHints.includes(zone)) hasForZone = true;
  }
  if (ctx.preferSameTrafficDistribution && allHaveNodeHints && hasForNode) return 'PreferSameNode';
  if (allHaveZoneHints && hasForZone) return 'PreferSameZone';
  return '';
}

function availableForTopology(ep: EndpointInfo, mode: TopologyMode, ctx: TopologyContext): boolean {
  if (mode === 'PreferSameNode') return ep.nodeHints.includes(ctx.nodeName);
  if (mode === 'PreferSameZone') return ep.zoneHints.includes(ctx.nodeLabels?.['topology.kubernetes.io/zone'] ?? '');
  return true;
}

/** Splits a service port's endpoints into the Cluster and Local sets, as kube-proxy does on every sync. */
export function categorizeEndpoints(endpoints: readonly EndpointInfo[], sp: ServicePortInfo, ctx: TopologyContext): CategorizedEndpoints {
  let clusterEndpoints: EndpointInfo[] = [];
  let localEndpoints: EndpointInfo[] = [];
  let hasAnyEndpoints = false;
  if (usesClusterEndpoints(sp)) {
    const mode = topologyModeFromHints(endpoints, ctx);
    clusterEndpoints = endpoints.filter((ep) => ep.ready && availableForTopology(ep, mode, ctx));
    // KEP-1669: with no ready endpoint anywhere, fall back to serving terminating ones.
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }
  if (!usesLocalEndpoints(sp)) return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalServingTerminating = true;
    }
  }
  if (hasLocalReady) localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  else if (hasLocalServingTerminating) localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);

  if (!usesClusterEndpoints(sp)) return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints };
  const seen = new Set(clusterEndpoints.map((ep) => ep.endpoint));
  const allReachableEndpoints = [...clusterEndpoints, ...localEndpoints.filter((ep) => !seen.has(ep.endpoint))];
  return { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints };
}
