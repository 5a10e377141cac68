import type { LabelSelector, Taint, Toleration } from '../api/index.js';

/** True when `labels` satisfy a set-based selector (`matchLabels` and `matchExpressions`, ANDed). */
export function matchesLabelSelector(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const have = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (have[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const value = have[e.key];
    const present = value !== undefined;
    switch (e.operator) {
      case 'In':
        if (!present || !(e.values ?? []).includes(value)) return false;
        break;
      case 'NotIn':
        if (present && (e.values ?? []).includes(value)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
    }
  }
  return true;
}

/**
 * A Service's (or nodeSelector's) equality selector: every key/value must match. An empty or absent selector
 * selects nothing for Services (no managed endpoints) — callers decide; this only compares.
 */
export function matchesSelector(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  const have = labels ?? {};
  for (const [k, v] of Object.entries(selector)) if (have[k] !== v) return false;
  return true;
}

/** `v1.Toleration.ToleratesTaint`: effect and key must match (empty means any), then Exists or an equal value. */
export function toleratesTaint(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  if (toleration.operator === 'Exists') return true;
  return (toleration.value ?? '') === (taint.value ?? '');
}

/** The first NoSchedule/NoExecute taint none of the tolerations tolerates (PreferNoSchedule never blocks). */
export function firstUntoleratedTaint(taints: readonly Taint[] | undefined, tolerations: readonly Toleration[] | undefined): Taint | undefined {
  return (taints ?? []).find(
    (t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !(tolerations ?? []).some((tol) => toleratesTaint(tol, t)),
  );
}
