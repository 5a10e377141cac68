/** Where in an input file a problem is: 1-based line and column. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/**
 * Every error a user can cause. `code` is stable (see the README's table); `message` says what was wrong and
 * what to do; `object` names the Kubernetes object (`Service shop/web`); `position` points into an input file.
 */
export class KubeNetsimError extends Error {
  override readonly name = 'KubeNetsimError';
  readonly code: `E_${string}`;
  readonly object: string | undefined;
  readonly position: SourcePosition | undefined;
  readonly hint: string | undefined;

  constructor(
    code: `E_${string}`,
    message: string,
    options: { object?: string; position?: SourcePosition; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.object = options.object;
    this.position = options.position;
    this.hint = options.hint;
  }

  /** One line for a terminal: `file:line:col: Service shop/web: message (hint)`. */
  format(): string {
    const where = this.position ? `${this.position.file}:${this.position.line}:${this.position.column}: ` : '';
    const what = this.object ? `${this.object}: ` : '';
    const hint = this.hint ? `\n  hint: ${this.hint}` : '';
    return `${where}${what}${this.message}${hint}`;
  }
}

export function isKubeNetsimError(e: unknown): e is KubeNetsimError {
  return e instanceof KubeNetsimError;
}
