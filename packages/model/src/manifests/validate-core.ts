import { type Check, type FieldPath, PROTOCOLS, formatFieldPath } from './check.js';

// Checks for the core objects' fields the simulator reads: metadata, Pods and pod templates, workloads, Nodes, Namespaces.
// Each takes the object as parsed and throws at the first field that Kubernetes' validation would reject
// (or that the simulator could not use); the object itself is kept as given.

const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] as const;
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;
const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;
const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
const NODE_ADDRESS_TYPES = ['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS'] as const;

/** metadata: name (a DNS subdomain, or a DNS label where Kubernetes asks for one), namespace, labels, annotations. */
export function checkMetadata(c: Check, o: Record<string, unknown>, nameIsLabel = false): void {
  const meta = c.required(c.map(o.metadata, ['metadata']), ['metadata'], 'the object\'s name and namespace');
  const name = c.required(meta.name, ['metadata', 'name'], 'the object\'s name');
  if (nameIsLabel) c.dnsLabel(name, ['metadata', 'name']);
  else c.dnsSubdomain(name, ['metadata', 'name']);
  c.dnsLabel(meta.namespace, ['metadata', 'namespace']);
  c.stringMap(meta.labels, ['metadata', 'labels']);
  c.stringMap(meta.annotations, ['metadata', 'annotations']);
  c.string(meta.deletionTimestamp, ['metadata', 'deletionTimestamp']);
  c.string(meta.uid, ['metadata', 'uid']);
  c.list(meta.ownerReferences, ['metadata', 'ownerReferences'])?.forEach((r, i) => {
    const p: FieldPath = ['metadata', 'ownerReferences', i];
    const ref = c.required(c.map(r, p), p, 'an owner reference');
    c.required(c.string(ref.kind, [...p, 'kind']), [...p, 'kind'], 'the owner\'s kind');
    c.required(c.string(ref.name, [...p, 'name']), [...p, 'name'], 'the owner\'s name');
  });
}

function checkContainers(c: Check, v: unknown, path: FieldPath, required: boolean): void {
  const list = c.list(v, path);
  if (required && (!list || list.length === 0)) c.fail(path, `Expected \`${formatFieldPath(path)}\` to list at least one container`);
  const names = new Set<string>();
  list?.forEach((x, i) => {
    const p: FieldPath = [...path, i];
    const ct = c.required(c.map(x, p), p, 'a container');
    const name = c.required(c.dnsLabel(ct.name, [...p, 'name']), [...p, 'name'], 'the container\'s name');
    if (names.has(name)) c.fail([...p, 'name'], `Container name ${JSON.stringify(name)} is used twice in one pod`);
    names.add(name);
    c.string(ct.image, [...p, 'image']);
    c.list(ct.ports, [...p, 'ports'])?.forEach((y, j) => {
      const pp: FieldPath = [...p, 'ports', j];
      const port = c.required(c.map(y, pp), pp, 'a container port');
      c.required(c.port(port.containerPort, [...pp, 'containerPort']), [...pp, 'containerPort'], 'the port number, 1-65535');
      c.oneOf(port.protocol, [...pp, 'protocol'], PROTOCOLS);
      c.portName(port.name, [...pp, 'name']);
      c.int(port.hostPort, [...pp, 'hostPort'], 0, 65535);
      c.ip(port.hostIP, [...pp, 'hostIP']);
    });
  });
}

function checkTaints(c: Check, v: unknown, path: FieldPath): void {
  c.list(v, path)?.forEach((x, i) => {
    const p: FieldPath = [...path, i];
    const t = c.required(c.map(x, p), p, 'a taint');
    c.required(c.string(t.key, [...p, 'key']), [...p, 'key'], 'the taint\'s key');
    c.string(t.value, [...p, 'value']);
    c.required(c.oneOf(t.effect, [...p, 'effect'], TAINT_EFFECTS), [...p, 'effect'], `the taint's effect, one of ${TAINT_EFFECTS.join(', ')}`);
  });
}

/** A PodSpec: containers and their ports, hostNetwork, dnsPolicy, scheduling fields. */
export function checkPodSpec(c: Check, v: unknown, path: FieldPath): void {
  const spec = c.required(c.map(v, path), path, 'the pod spec');
  checkContainers(c, spec.containers, [...path, 'containers'], true);
  checkContainers(c, spec.initContainers, [...path, 'initContainers'], false);
  c.bool(spec.hostNetwork, [...path, 'hostNetwork']);
  c.oneOf(spec.dnsPolicy, [...path, 'dnsPolicy'], DNS_POLICIES);
  c.string(spec.nodeName, [...path, 'nodeName']);
  c.dnsLabel(spec.hostname, [...path, 'hostname']);
  c.dnsLabel(spec.subdomain, [...path, 'subdomain']);
  c.stringMap(spec.nodeSelector, [...path, 'nodeSelector']);
  c.list(spec.tolerations, [...path, 'tolerations'])?.forEach((x, i) => {
    const p: FieldPath = [...path, 'tolerations', i];
    const t = c.required(c.map(x, p), p, 'a toleration');
    c.string(t.key, [...p, 'key']);
    c.oneOf(t.operator, [...p, 'operator'], ['Exists', 'Equal'] as const);
    c.string(t.value, [...p, 'value']);
    c.oneOf(t.effect, [...p, 'effect'], ['', ...TAINT_EFFECTS] as const);
  });
  const dns = c.map(spec.dnsConfig, [...path, 'dnsConfig']);
  if (dns) {
    c.list(dns.nameservers, [...path, 'dnsConfig', 'nameservers'])?.forEach((x, i) => c.ip(x, [...path, 'dnsConfig', 'nameservers', i]));
    c.stringList(dns.searches, [...path, 'dnsConfig', 'searches']);
  }
  if (spec.dnsPolicy === 'None' && !dns?.nameservers) {
    c.fail([...path, 'dnsPolicy'], 'A pod with `dnsPolicy: None` must give `dnsConfig.nameservers`');
  }
}

export function checkPod(c: Check, o: Record<string, unknown>): void {
  checkMetadata(c, o);
  checkPodSpec(c, o.spec, ['spec']);
  const status = c.map(o.status, ['status']);
  if (!status) return;
  c.oneOf(status.phase, ['status', 'phase'], POD_PHASES);
  c.ip(status.podIP, ['status', 'podIP']);
  c.ip(status.hostIP, ['status', 'hostIP']);
  c.list(status.podIPs, ['status', 'podIPs'])?.forEach((x, i) => {
    const p: FieldPath = ['status', 'podIPs', i];
    c.required(c.ip(c.required(c.map(x, p), p, 'a pod IP').ip, [...p, 'ip']), [...p, 'ip'], 'the address');
  });
  c.list(status.conditions, ['status', 'conditions'])?.forEach((x, i) => {
    const p: FieldPath = ['status', 'conditions', i];
    const cond = c.required(c.map(x, p), p, 'a pod condition');
    c.required(c.string(cond.type, [...p, 'type']), [...p, 'type'], 'the condition type');
    c.required(c.oneOf(cond.status, [...p, 'status'], CONDITION_STATUSES), [...p, 'status'], 'True, False or Unknown');
  });
  c.string(status.reason, ['status', 'reason']);
  c.string(status.message, ['status', 'message']);
}

function checkSelector(c: Check, v: unknown, path: FieldPath): Record<string, unknown> {
  const sel = c.required(c.map(v, path), path, 'a label selector (apps/v1 requires one)');
  c.stringMap(sel.matchLabels, [...path, 'matchLabels']);
  c.list(sel.matchExpressions, [...path, 'matchExpressions'])?.forEach((x, i) => {
    const p: FieldPath = [...path, 'matchExpressions', i];
    const e = c.required(c.map(x, p), p, 'a selector requirement');
    c.required(c.string(e.key, [...p, 'key']), [...p, 'key'], 'the label key');
    const op = c.required(c.oneOf(e.operator, [...p, 'operator'], SELECTOR_OPERATORS), [...p, 'operator'], SELECTOR_OPERATORS.join(', '));
    const values = c.stringList(e.values, [...p, 'values']);
    if ((op === 'In' || op === 'NotIn') && !values?.length) c.fail([...p, 'values'], `Expected \`values\` to be non-empty for operator ${op}`);
  });
  if (!sel.matchLabels && !sel.matchExpressions) c.fail(path, 'Expected the selector to have `matchLabels` or `matchExpressions`; an empty selector would select every pod');
  return sel;
}

/** True when `labels` satisfies the selector (the API server checks a workload's template against it). */
export function selectorMatches(sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Deployment, ReplicaSet, StatefulSet, DaemonSet: replicas, selector, and a template the selector selects. */
export function checkWorkload(c: Check, o: Record<string, unknown>, kind: string): void {
  checkMetadata(c, o);
  const spec = c.required(c.map(o.spec, ['spec']), ['spec'], `the ${kind}'s spec`);
  if (kind !== 'DaemonSet') c.int(spec.replicas, ['spec', 'replicas'], 0);
  else if (spec.replicas !== undefined) c.fail(['spec', 'replicas'], 'A DaemonSet has no `replicas`: it runs one pod on every node its template fits');
  if (kind === 'StatefulSet') c.dnsLabel(spec.serviceName, ['spec', 'serviceName']);
  const sel = checkSelector(c, spec.selector, ['spec', 'selector']);
  const template = c.required(c.map(spec.template, ['spec', 'template']), ['spec', 'template'], 'the pod template');
  const tmeta = c.map(template.metadata, ['spec', 'template', 'metadata']);
  const labels = c.stringMap(tmeta?.labels, ['spec', 'template', 'metadata', 'labels']) ?? {};
  checkPodSpec(c, template.spec, ['spec', 'template', 'spec']);
  if (!selectorMatches(sel as Parameters<typeof selectorMatches>[0], labels)) {
    c.fail(['spec', 'template', 'metadata', 'labels'], '`selector` does not match template `labels`', 'give the template the labels the selector asks for');
  }
}

export function checkNode(c: Check, o: Record<string, unknown>): void {
  checkMetadata(c, o);
  const spec = c.map(o.spec, ['spec']);
  if (spec) {
    c.cidr(spec.podCIDR, ['spec', 'podCIDR']);
    c.list(spec.podCIDRs, ['spec', 'podCIDRs'])?.forEach((x, i) => c.cidr(x, ['spec', 'podCIDRs', i]));
    checkTaints(c, spec.taints, ['spec', 'taints']);
    c.bool(spec.unschedulable, ['spec', 'unschedulable']);
    c.string(spec.providerID, ['spec', 'providerID']);
  }
  const status = c.map(o.status, ['status']);
  if (!status) return;
  c.list(status.addresses, ['status', 'addresses'])?.forEach((x, i) => {
    const p: FieldPath = ['status', 'addresses', i];
    const a = c.required(c.map(x, p), p, 'a node address');
    const type = c.required(c.oneOf(a.type, [...p, 'type'], NODE_ADDRESS_TYPES), [...p, 'type'], NODE_ADDRESS_TYPES.join(', '));
    if (type === 'InternalIP' || type === 'ExternalIP') c.required(c.ip(a.address, [...p, 'address']), [...p, 'address'], 'the IP address');
    else c.string(a.address, [...p, 'address']);
  });
  for (const field of ['capacity', 'allocatable'] as const) {
    const m = c.map(status[field], ['status', field]);
    if (!m) continue;
    for (const [k, x] of Object.entries(m)) {
      const p: FieldPath = ['status', field, k];
      // Quantities are strings in the API; a YAML number is what `kubectl get -o yaml` would show quoted.
      if (typeof x !== 'string' && typeof x !== 'number') c.fail(p, `Expected \`status.${field}.${k}\` to be a quantity such as "110", got ${JSON.stringify(x)}`);
      if (k === 'pods' && !/^\d+$/.test(String(x))) c.fail(p, `Expected \`status.${field}.pods\` to be a whole number of pods, got ${JSON.stringify(x)}`);
    }
  }
}

export function checkNamespace(c: Check, o: Record<string, unknown>): void {
  checkMetadata(c, o, true);
}
