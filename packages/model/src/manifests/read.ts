import { type Document, LineCounter, isNode, isScalar, parseAllDocuments } from 'yaml';
import type { ClusterConfig, ENIConfig, KubeProxyConfiguration } from '../api/config.js';
import type { DaemonSet, Deployment, EndpointSlice, Namespace, Node, Pod, ReplicaSet, Service, StatefulSet } from '../api/core.js';
import { type ClusterInput, emptyClusterInput } from '../api/input.js';
import { KubeNetsimError, type SourcePosition } from '../errors.js';
import { Check, type FieldPath, describeValue } from './check.js';
import { awsNodeEnvOf, checkClusterConfig, checkENIConfig, checkKubeProxyConfiguration } from './validate-config.js';
import { checkEndpointSlice, checkService } from './validate-network.js';
import { checkNamespace, checkNode, checkPod, checkWorkload } from './validate-core.js';

/** One input file: its name (for messages; `-` for stdin) and its text. */
export interface ManifestSource {
  file: string;
  text: string;
}

type ListSlot = 'nodes' | 'namespaces' | 'pods' | 'services' | 'endpointSlices' | 'deployments' | 'replicaSets' | 'statefulSets' | 'daemonSets' | 'eniConfigs';

interface KindSpec {
  apiVersion: string;
  /** Where the object goes in ClusterInput; singletons have their own field. */
  slot: ListSlot | 'clusterConfig' | 'kubeProxyConfiguration';
  namespaced: boolean;
  check: (c: Check, o: Record<string, unknown>) => void;
}

/** The kinds the simulator reads, with the one apiVersion each is read at. */
const KINDS: Record<string, KindSpec> = {
  Node: { apiVersion: 'v1', slot: 'nodes', namespaced: false, check: checkNode },
  Namespace: { apiVersion: 'v1', slot: 'namespaces', namespaced: false, check: checkNamespace },
  Pod: { apiVersion: 'v1', slot: 'pods', namespaced: true, check: checkPod },
  Service: { apiVersion: 'v1', slot: 'services', namespaced: true, check: checkService },
  EndpointSlice: { apiVersion: 'discovery.k8s.io/v1', slot: 'endpointSlices', namespaced: true, check: checkEndpointSlice },
  Deployment: { apiVersion: 'apps/v1', slot: 'deployments', namespaced: true, check: (c, o) => checkWorkload(c, o, 'Deployment') },
  ReplicaSet: { apiVersion: 'apps/v1', slot: 'replicaSets', namespaced: true, check: (c, o) => checkWorkload(c, o, 'ReplicaSet') },
  StatefulSet: { apiVersion: 'apps/v1', slot: 'statefulSets', namespaced: true, check: (c, o) => checkWorkload(c, o, 'StatefulSet') },
  DaemonSet: { apiVersion: 'apps/v1', slot: 'daemonSets', namespaced: true, check: (c, o) => checkWorkload(c, o, 'DaemonSet') },
  ENIConfig: { apiVersion: 'crd.k8s.amazonaws.com/v1alpha1', slot: 'eniConfigs', namespaced: false, check: checkENIConfig },
  ClusterConfig: { apiVersion: 'eksctl.io/v1alpha5', slot: 'clusterConfig', namespaced: false, check: checkClusterConfig },
  KubeProxyConfiguration: { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', slot: 'kubeProxyConfiguration', namespaced: false, check: checkKubeProxyConfiguration },
};

/** Why a kind that people often have in their dumps is not read. */
const IGNORED_REASONS: Record<string, string> = {
  Endpoints: 'kube-proxy reads EndpointSlices, not Endpoints',
  ConfigMap: 'not part of the network model',
  Secret: 'not part of the network model',
  ServiceAccount: 'not part of the network model',
  NetworkPolicy: 'NetworkPolicies are not simulated (the VPC CNI enforces them only with its network policy agent)',
  Ingress: 'Ingress controllers are not simulated',
};

/** The ConfigMaps in kube-system that carry kube-proxy's configuration file under `data.config` (EKS names it kube-proxy-config). */
const KUBE_PROXY_CONFIGMAPS = ['kube-proxy-config', 'kube-proxy'];

/**
 * Reads a YAML stream (several files, several documents each, `kind: List` and `kubectl get -o yaml` dumps)
 * into a ClusterInput. Pure: no file system. Objects are kept as given (observed state such as a Service's
 * clusterIP or an EndpointSlice's conditions included); only a missing `metadata.namespace` of a namespaced
 * object is set to `default`, as kubectl would. Kinds the simulator does not model are listed in `ignored`.
 *
 * Throws a KubeNetsimError at the first syntax error (`E_YAML_SYNTAX`) or schema error (`E_MANIFEST_SCHEMA`,
 * `E_MANIFEST_DUPLICATE`, and the `E_EKS_…` codes of `resolveClusterConfig`), with `file:line:column`;
 * nothing is returned then.
 */
export function readManifests(sources: ManifestSource[]): ClusterInput {
  const input = emptyClusterInput();
  for (const source of sources) readSource(input, { file: source.file, text: source.text, lineOffset: 0, columnOffset: 0 });
  return input;
}

function readSource(input: ClusterInput, from: { file: string; text: string; lineOffset: number; columnOffset: number }): void {
  const { file, text, lineOffset, columnOffset } = from;
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line: line + lineOffset, column: col + columnOffset };
  };
  const source: SourceText = {
    file,
    position,
    lineText: (line) => {
      const start = lineCounter.lineStarts[line - 1 - lineOffset];
      if (start === undefined) return '';
      const end = text.indexOf('\n', start);
      return text.slice(start, end < 0 ? undefined : end);
    },
  };
  if (!Array.isArray(docs)) return; // an empty stream
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      throw new KubeNetsimError('E_YAML_SYNTAX', `YAML syntax error: ${error.message.split('\n')[0]}`, {
        position: position(error.pos[0]),
        hint: 'check the indentation and quoting around this place',
      });
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue; // `---` with nothing in it
    let value: unknown;
    try {
      // A cap on alias expansion keeps a "billion laughs" document from exhausting memory.
      value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    } catch (e) {
      throw new KubeNetsimError('E_YAML_SYNTAX', `YAML cannot be read: ${e instanceof Error ? e.message : String(e)}`, {
        ...(doc.contents?.range ? { position: position(doc.contents.range[0]) } : {}),
        hint: 'expand the YAML anchors and aliases (&name / *name) in this document',
        cause: e,
      });
    }
    const locate = (path: FieldPath): SourcePosition | undefined => {
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) return position(node.range[0]);
      }
      return undefined;
    };
    readObject(input, value, [], locate, doc, source);
  }
}

function readObject(
  input: ClusterInput,
  value: unknown,
  base: FieldPath,
  locateIn: (path: FieldPath) => SourcePosition | undefined,
  doc: Document,
  source: SourceText,
): void {
  const locate = (path: FieldPath) => locateIn([...base, ...path]);
  const anonymous = new Check(base.length ? `items[${String(base[base.length - 1])}]` : 'document', locate);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    anonymous.fail([], `Expected a Kubernetes object (a mapping with \`apiVersion\` and \`kind\`), got ${describeValue(value)}`);
  }
  const o = value as Record<string, unknown>;
  const kind = anonymous.required(anonymous.string(o.kind, ['kind']), ['kind'], 'the object\'s kind, e.g. `kind: Deployment`');
  const apiVersion = anonymous.required(anonymous.string(o.apiVersion, ['apiVersion']), ['apiVersion'], 'the object\'s apiVersion, e.g. `apiVersion: apps/v1`');

  if (kind === 'List' || (kind.endsWith('List') && Array.isArray(o.items))) {
    const items = anonymous.list(o.items, ['items']) ?? [];
    items.forEach((item, i) => readObject(input, item, [...base, 'items', i], locateIn, doc, source));
    return;
  }

  const meta = (o.metadata !== null && typeof o.metadata === 'object' ? o.metadata : {}) as { name?: unknown; namespace?: unknown };
  const spec = KINDS[kind];
  const namespaced = spec?.namespaced ?? typeof meta.namespace === 'string';
  const displayName = typeof meta.name === 'string' ? (namespaced ? `${typeof meta.namespace === 'string' ? meta.namespace : 'default'}/${meta.name}` : meta.name) : '';
  const check = new Check(displayName ? `${kind} ${displayName}` : kind, locate);
  const where = locate([]);

  if (!spec || spec.apiVersion !== apiVersion) {
    if (kind === 'ConfigMap' && apiVersion === 'v1' && meta.namespace === 'kube-system' && KUBE_PROXY_CONFIGMAPS.includes(meta.name as string)) {
      if (readKubeProxyConfigMap(input, o, base, doc, source)) return;
    }
    const reason = spec ? `${kind} is read at apiVersion ${spec.apiVersion}, not ${apiVersion}` : (IGNORED_REASONS[kind] ?? 'not modelled by the simulator');
    input.ignored.push({ kind, name: displayName, apiVersion, reason, ...(where ? { position: where } : {}) });
    return;
  }

  spec.check(check, o);
  if (spec.namespaced) {
    const m = o.metadata as { namespace?: string };
    m.namespace ??= 'default';
  }

  const key = spec.slot === 'kubeProxyConfiguration' ? kind : `${kind}/${displayName}`;
  const first = input.positions.get(key);
  if (first || (spec.slot === 'clusterConfig' && input.clusterConfig) || (spec.slot === 'kubeProxyConfiguration' && input.kubeProxyConfiguration)) {
    const at = first ? ` (first at ${first.file}:${first.line}:${first.column})` : '';
    throw new KubeNetsimError('E_MANIFEST_DUPLICATE', `${check.object} is given twice${at}`, {
      object: check.object,
      ...(where ? { position: where } : {}),
      hint: spec.slot === 'clusterConfig' || spec.slot === 'kubeProxyConfiguration' ? `a cluster has one ${kind}` : 'remove one copy, or give them different names',
    });
  }
  if (where) input.positions.set(key, where);

  switch (spec.slot) {
    case 'clusterConfig':
      input.clusterConfig = o as unknown as ClusterConfig;
      break;
    case 'kubeProxyConfiguration':
      input.kubeProxyConfiguration = o as unknown as KubeProxyConfiguration;
      break;
    default:
      (input[spec.slot] as unknown[]).push(o);
  }
  if (kind === 'DaemonSet' && displayName === 'kube-system/aws-node') {
    const env = awsNodeEnvOf(check, o);
    if (env) input.awsNodeEnv = env;
  }
}

/**
 * EKS keeps kube-proxy's configuration file in the ConfigMap kube-system/kube-proxy-config under `data.config`;
 * a `kubectl get cm -o yaml` dump has it there. Reads it as a KubeProxyConfiguration, with positions pointing
 * into the ConfigMap's text. False when the ConfigMap has no such file (it is then ignored like other ConfigMaps).
 */
function readKubeProxyConfigMap(input: ClusterInput, o: Record<string, unknown>, base: FieldPath, doc: Document, source: SourceText): boolean {
  const text = (o.data as Record<string, unknown> | undefined)?.config;
  if (typeof text !== 'string' || !/kind:\s*KubeProxyConfiguration/.test(text)) return false;
  const node = doc.getIn([...base, 'data', 'config'], true);
  if (!isScalar(node) || !node.range) return false;
  const at = source.position(node.range[0]);
  // A block scalar's text starts on the line after its `|`, indented; map its lines and columns back.
  const block = node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED';
  const indent = block ? (/^ */.exec(source.lineText(at.line + 1))?.[0].length ?? 0) : at.column;
  const before = input.kubeProxyConfiguration;
  readSource(input, { file: source.file, text, lineOffset: block ? at.line : at.line - 1, columnOffset: indent });
  return input.kubeProxyConfiguration !== before;
}

/** A text and where it sits in its file (offsets are non-zero for a file embedded in a ConfigMap). */
interface SourceText {
  file: string;
  position(offset: number): SourcePosition;
  /** The text of 1-based line `line` of the file. */
  lineText(line: number): string;
}
