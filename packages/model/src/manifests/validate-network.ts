import { ipFamily } from '../ip/index.js';
import { type Check, type FieldPath, PROTOCOLS } from './check.js';
import { checkMetadata } from './validate-core.js';

// Checks for Services and EndpointSlices, following the API server's validation where the simulator depends on it.

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
const TRAFFIC_POLICIES = ['Cluster', 'Local'] as const;

export function checkService(c: Check, o: Record<string, unknown>): void {
  checkMetadata(c, o, true);
  const spec = c.required(c.map(o.spec, ['spec']), ['spec'], 'the Service\'s spec');
  const type = c.oneOf(spec.type, ['spec', 'type'], SERVICE_TYPES) ?? 'ClusterIP';
  c.stringMap(spec.selector, ['spec', 'selector']);

  const clusterIP = c.string(spec.clusterIP, ['spec', 'clusterIP']);
  const headless = clusterIP === 'None';
  if (clusterIP !== undefined && clusterIP !== '' && !headless) c.ip(clusterIP, ['spec', 'clusterIP']);
  const clusterIPs = c.stringList(spec.clusterIPs, ['spec', 'clusterIPs']);
  clusterIPs?.forEach((ip, i) => {
    if (ip !== 'None') c.ip(ip, ['spec', 'clusterIPs', i]);
  });
  if (clusterIPs?.length && clusterIP !== undefined && clusterIP !== '' && clusterIPs[0] !== clusterIP) {
    c.fail(['spec', 'clusterIPs', 0], `Expected \`spec.clusterIPs[0]\` to equal \`spec.clusterIP\` (${clusterIP}), got ${clusterIPs[0]}`);
  }
  if (headless && (type === 'NodePort' || type === 'LoadBalancer')) {
    c.fail(['spec', 'clusterIP'], `A ${type} Service cannot be headless (\`clusterIP: None\`)`);
  }
  if (type === 'ExternalName') {
    c.required(c.dnsSubdomain(spec.externalName, ['spec', 'externalName']), ['spec', 'externalName'], 'the DNS name an ExternalName Service points at');
  }

  const ports = c.list(spec.ports, ['spec', 'ports']);
  if (!ports?.length && type !== 'ExternalName' && !headless) {
    c.fail(['spec', 'ports'], `Expected \`spec.ports\` to list at least one port for a ${type} Service`);
  }
  const names = new Set<string>();
  const seen = new Set<string>();
  ports?.forEach((x, i) => {
    const p: FieldPath = ['spec', 'ports', i];
    const port = c.required(c.map(x, p), p, 'a Service port');
    // Service port names are DNS labels (up to 63 characters); container port names are the shorter IANA names.
    const name = c.dnsLabel(port.name, [...p, 'name']);
    if ((ports.length > 1 && !name) || (name !== undefined && names.has(name))) {
      c.fail([...p, 'name'], name ? `Port name ${JSON.stringify(name)} is used twice` : 'A Service with more than one port must name each port', 'name ports like `http`, `grpc`, `metrics`');
    }
    if (name) names.add(name);
    const number = c.required(c.port(port.port, [...p, 'port']), [...p, 'port'], 'the port number, 1-65535');
    const protocol = c.oneOf(port.protocol, [...p, 'protocol'], PROTOCOLS) ?? 'TCP';
    const key = `${number}/${protocol}`;
    if (seen.has(key)) c.fail([...p, 'port'], `Port ${key} is listed twice`);
    seen.add(key);
    if (typeof port.targetPort === 'string') c.portName(port.targetPort, [...p, 'targetPort']);
    else if (port.targetPort !== undefined && port.targetPort !== null) c.port(port.targetPort, [...p, 'targetPort']);
    const nodePort = c.int(port.nodePort, [...p, 'nodePort'], 0, 65535);
    if (nodePort && type !== 'NodePort' && type !== 'LoadBalancer') {
      c.fail([...p, 'nodePort'], `A ${type} Service cannot have a \`nodePort\`: only NodePort and LoadBalancer Services get one`);
    }
    c.string(port.appProtocol, [...p, 'appProtocol']);
  });

  c.oneOf(spec.sessionAffinity, ['spec', 'sessionAffinity'], ['None', 'ClientIP'] as const);
  const sac = c.map(spec.sessionAffinityConfig, ['spec', 'sessionAffinityConfig']);
  const clientIP = c.map(sac?.clientIP, ['spec', 'sessionAffinityConfig', 'clientIP']);
  c.int(clientIP?.timeoutSeconds, ['spec', 'sessionAffinityConfig', 'clientIP', 'timeoutSeconds'], 1, 86400);
  const etp = c.oneOf(spec.externalTrafficPolicy, ['spec', 'externalTrafficPolicy'], TRAFFIC_POLICIES);
  if (etp !== undefined && type !== 'NodePort' && type !== 'LoadBalancer' && !(spec.externalIPs as unknown[] | undefined)?.length) {
    c.fail(['spec', 'externalTrafficPolicy'], `\`externalTrafficPolicy\` may only be set for externally-accessible Services, not a ${type} Service`);
  }
  c.oneOf(spec.internalTrafficPolicy, ['spec', 'internalTrafficPolicy'], TRAFFIC_POLICIES);
  c.list(spec.externalIPs, ['spec', 'externalIPs'])?.forEach((x, i) => c.ip(x, ['spec', 'externalIPs', i]));
  c.list(spec.loadBalancerSourceRanges, ['spec', 'loadBalancerSourceRanges'])?.forEach((x, i) => c.cidr(x, ['spec', 'loadBalancerSourceRanges', i]));
  c.int(spec.healthCheckNodePort, ['spec', 'healthCheckNodePort'], 0, 65535);
  c.bool(spec.publishNotReadyAddresses, ['spec', 'publishNotReadyAddresses']);
  c.list(spec.ipFamilies, ['spec', 'ipFamilies'])?.forEach((x, i) => c.oneOf(x, ['spec', 'ipFamilies', i], ['IPv4', 'IPv6'] as const));

  const status = c.map(o.status, ['status']);
  const lb = c.map(status?.loadBalancer, ['status', 'loadBalancer']);
  c.list(lb?.ingress, ['status', 'loadBalancer', 'ingress'])?.forEach((x, i) => {
    const p: FieldPath = ['status', 'loadBalancer', 'ingress', i];
    const ing = c.required(c.map(x, p), p, 'a load balancer ingress');
    c.ip(ing.ip, [...p, 'ip']);
    c.string(ing.hostname, [...p, 'hostname']);
    c.oneOf(ing.ipMode, [...p, 'ipMode'], ['VIP', 'Proxy'] as const);
  });
}

/**
 * An EndpointSlice as observed: addresses of its addressType, conditions as booleans (absent ones are read the
 * way kube-proxy reads them, by the cluster, not here), ports. `endpoints: null` (how an empty slice is dumped)
 * is read as an empty list.
 */
export function checkEndpointSlice(c: Check, o: Record<string, unknown>): void {
  checkMetadata(c, o);
  const addressType = c.required(c.oneOf(o.addressType, ['addressType'], ['IPv4', 'IPv6', 'FQDN'] as const), ['addressType'], 'IPv4, IPv6 or FQDN');
  if (o.endpoints === undefined || o.endpoints === null) o.endpoints = [];
  c.list(o.endpoints, ['endpoints'])!.forEach((x, i) => {
    const p: FieldPath = ['endpoints', i];
    const ep = c.required(c.map(x, p), p, 'an endpoint');
    const addresses = c.required(c.list(ep.addresses, [...p, 'addresses']), [...p, 'addresses'], 'the endpoint\'s addresses');
    if (addresses.length < 1 || addresses.length > 100) c.fail([...p, 'addresses'], `Expected 1 to 100 addresses, got ${addresses.length}`);
    addresses.forEach((a, j) => {
      const ap: FieldPath = [...p, 'addresses', j];
      if (addressType === 'FQDN') c.dnsSubdomain(a, ap);
      else if (ipFamily(c.required(c.ip(a, ap), ap, 'an address')) !== addressType) c.fail(ap, `Expected an ${addressType} address in an ${addressType} EndpointSlice, got ${String(a)}`);
    });
    const cond = c.map(ep.conditions, [...p, 'conditions']);
    for (const k of ['ready', 'serving', 'terminating'] as const) c.bool(cond?.[k], [...p, 'conditions', k]);
    c.string(ep.hostname, [...p, 'hostname']);
    c.string(ep.nodeName, [...p, 'nodeName']);
    c.string(ep.zone, [...p, 'zone']);
    const ref = c.map(ep.targetRef, [...p, 'targetRef']);
    if (ref) {
      c.string(ref.kind, [...p, 'targetRef', 'kind']);
      c.string(ref.namespace, [...p, 'targetRef', 'namespace']);
      c.string(ref.name, [...p, 'targetRef', 'name']);
    }
  });
  c.list(o.ports, ['ports'])?.forEach((x, i) => {
    const p: FieldPath = ['ports', i];
    const port = c.required(c.map(x, p), p, 'an endpoint port');
    c.string(port.name, [...p, 'name']);
    c.port(port.port, [...p, 'port']);
    c.oneOf(port.protocol, [...p, 'protocol'], PROTOCOLS);
    c.string(port.appProtocol, [...p, 'appProtocol']);
  });
}
