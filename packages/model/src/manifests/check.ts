import { KubeNetsimError, type SourcePosition } from '../errors.js';
import { CIDR, isIP } from '../ip/index.js';

/** A path into one object (`['spec', 'ports', 0, 'port']`). */
export type FieldPath = (string | number)[];

/** Maps a path inside the object being checked to where it is in the file. */
export type Locate = (path: FieldPath) => SourcePosition | undefined;

/** `spec.ports[0].port`. */
export function formatFieldPath(path: FieldPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** How a value reads in an error message: short, with its YAML type when that is the problem. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Protocols of Service, container and endpoint ports. */
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** IANA service name as Kubernetes validates port names: ≤ 15 characters, lowercase letters, digits and '-', a letter somewhere, no '--'. */
const IANA_SVC_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Field checks for one object read from a manifest. Each check returns the value when it is right and throws a
 * KubeNetsimError (`E_MANIFEST_SCHEMA`) naming the object, the field, what was expected and where, when not.
 */
export class Check {
  constructor(
    /** `Deployment shop/web`. */
    readonly object: string,
    private readonly locate: Locate,
  ) {}

  fail(path: FieldPath, message: string, hint?: string): never {
    const position = this.locate(path);
    throw new KubeNetsimError('E_MANIFEST_SCHEMA', message, {
      object: this.object,
      ...(position ? { position } : {}),
      ...(hint ? { hint } : {}),
    });
  }

  where(path: FieldPath): SourcePosition | undefined {
    return this.locate(path);
  }

  private expected(path: FieldPath, what: string, v: unknown, hint?: string): never {
    return this.fail(path, `Expected \`${formatFieldPath(path)}\` to be ${what}, got ${describeValue(v)}`, hint);
  }

  required<T>(v: T | undefined, path: FieldPath, what: string): T {
    if (v === undefined || v === null) this.fail(path, `Expected \`${formatFieldPath(path)}\` (${what}), and it is missing`);
    return v as T;
  }

  map(v: unknown, path: FieldPath): Record<string, unknown> | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) this.expected(path, 'a mapping', v);
    return v as Record<string, unknown>;
  }

  list(v: unknown, path: FieldPath): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) this.expected(path, 'a list', v);
    return v as unknown[];
  }

  string(v: unknown, path: FieldPath): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.expected(path, 'a string', v, typeof v === 'number' || typeof v === 'boolean' ? `quote it: "${String(v)}"` : undefined);
    }
    return v as string;
  }

  int(v: unknown, path: FieldPath, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.expected(path, max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`, v);
    }
    return v as number;
  }

  port(v: unknown, path: FieldPath): number | undefined {
    return this.int(v, path, 1, 65535);
  }

  bool(v: unknown, path: FieldPath): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.expected(path, 'true or false', v);
    return v as boolean;
  }

  oneOf<T extends string>(v: unknown, path: FieldPath, values: readonly T[]): T | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.expected(path, `one of ${values.map((x) => (x === '' ? '""' : x)).join(', ')}`, v);
    }
    return v as T;
  }

  ip(v: unknown, path: FieldPath): string | undefined {
    const s = this.string(v, path);
    if (s !== undefined && !isIP(s)) this.expected(path, 'an IP address', v);
    return s;
  }

  cidr(v: unknown, path: FieldPath): string | undefined {
    const s = this.string(v, path);
    if (s === undefined) return undefined;
    try {
      CIDR.parse(s);
    } catch {
      this.expected(path, 'a CIDR such as 10.0.0.0/16', v);
    }
    return s;
  }

  /** A map of string to string (labels, annotations, nodeSelector, env-like maps). */
  stringMap(v: unknown, path: FieldPath): Record<string, string> | undefined {
    const m = this.map(v, path);
    if (m) for (const [k, x] of Object.entries(m)) this.string(x, [...path, k]);
    return m as Record<string, string> | undefined;
  }

  stringList(v: unknown, path: FieldPath): string[] | undefined {
    const l = this.list(v, path);
    l?.forEach((x, i) => this.string(x, [...path, i]));
    return l as string[] | undefined;
  }

  dnsLabel(v: unknown, path: FieldPath): string | undefined {
    const s = this.string(v, path);
    if (s !== undefined && (s.length > 63 || !DNS1123_LABEL.test(s))) {
      this.expected(path, 'a DNS label (at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit)', v);
    }
    return s;
  }

  dnsSubdomain(v: unknown, path: FieldPath): string | undefined {
    const s = this.string(v, path);
    if (s !== undefined && (s.length > 253 || !DNS1123_SUBDOMAIN.test(s))) {
      this.expected(path, 'a DNS subdomain (lowercase letters, digits, "-" and ".")', v);
    }
    return s;
  }

  portName(v: unknown, path: FieldPath): string | undefined {
    const s = this.string(v, path);
    if (s !== undefined && (s.length > 15 || !IANA_SVC_NAME.test(s) || s.includes('--') || !/[a-z]/.test(s))) {
      this.expected(path, 'a port name (at most 15 lowercase letters, digits and "-", with at least one letter)', v);
    }
    return s;
  }
}
