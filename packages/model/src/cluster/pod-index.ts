import type { OwnerReference, Pod } from '../api/index.js';

/** The controller owning an object: its `controller: true` owner reference (or its only one). */
export function controllerOf(meta: { ownerReferences?: OwnerReference[] }): OwnerReference | undefined {
  return meta.ownerReferences?.find((r) => r.controller) ?? meta.ownerReferences?.[0];
}

/** `ns/Kind/name`: the key of a controller in {@link PodIndex.byOwner}. */
export function ownerKey(namespace: string, kind: string, name: string): string {
  return `${namespace}/${kind}/${name}`;
}

function push<K>(map: Map<K, Pod[]>, key: K, pod: Pod): void {
  const list = map.get(key);
  if (list) list.push(pod);
  else map.set(key, [pod]);
}

/**
 * Pods grouped the ways the controllers look them up, built once per reconcile pass so a controller reads its own
 * pods instead of scanning them all. A snapshot: pods created or deleted afterwards are not in it.
 */
export class PodIndex {
  readonly byOwner = new Map<string, Pod[]>();
  /** Pods without a controller, by namespace: candidates for adoption. */
  readonly orphans = new Map<string, Pod[]>();
  /** `ns\0key=value` → pods with that label. */
  readonly byLabel = new Map<string, Pod[]>();
  readonly byNamespace = new Map<string, Pod[]>();

  constructor(pods: Iterable<Pod>) {
    for (const pod of pods) {
      const ns = pod.metadata.namespace ?? 'default';
      push(this.byNamespace, ns, pod);
      const ref = controllerOf(pod.metadata);
      if (ref) push(this.byOwner, ownerKey(ns, ref.kind, ref.name), pod);
      else push(this.orphans, ns, pod);
      for (const [k, v] of Object.entries(pod.metadata.labels ?? {})) push(this.byLabel, `${ns}\0${k}=${v}`, pod);
    }
  }

  /** Pods of `namespace` that may match an equality selector: those with its first label (all of the namespace when empty). */
  candidates(namespace: string, selector: Record<string, string>): Pod[] {
    const first = Object.entries(selector)[0];
    if (!first) return this.byNamespace.get(namespace) ?? [];
    return this.byLabel.get(`${namespace}\0${first[0]}=${first[1]}`) ?? [];
  }
}
