/** A mistake in how the command was called (exit code 2). */
export class UsageError extends Error {}

/** A check that ran and failed (exit code 1); the report has been printed already. */
export class CheckFailed extends Error {}
