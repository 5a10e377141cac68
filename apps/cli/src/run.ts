import { CommanderError } from 'commander';
import { isKubeNetsimError } from '@kube-netsim/model';
import { buildProgram } from './program.js';
import { CheckFailed, UsageError } from './exit.js';

/**
 * Runs the CLI and returns the exit code: 0 ok, 1 a check failed, 2 bad input. A user's mistake prints one
 * clear message, never a stack trace; anything else is a bug and prints its stack.
 */
export async function run(argv: string[], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(s));
  const err = io.err ?? ((s: string) => process.stderr.write(s));
  const program = buildProgram({ out, err });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors have been printed by commander.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof CheckFailed) {
      if (e.message) err(`${e.message}\n`);
      return 1;
    }
    if (e instanceof UsageError) {
      err(`error: ${e.message}\n`);
      return 2;
    }
    if (isKubeNetsimError(e)) {
      err(`error: ${e.format()}\n`);
      return 2;
    }
    throw e;
  }
}
