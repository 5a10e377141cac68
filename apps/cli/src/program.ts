import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import type { Io } from './io.js';

declare const __VERSION__: string | undefined;

export function buildProgram(io: Io): Command {
  const program = new Command('kube-netsim')
    .description('Simulate a Kubernetes cluster network: VPC CNI addressing, kube-proxy rules and decisions, DNS.')
    .version(typeof __VERSION__ === 'string' ? __VERSION__ : '0.1.0', '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run with --help for usage)');
  registerCommands(program, io);
  // Sub-commands inherit exitOverride and output so that `run()` sees every outcome.
  for (const c of program.commands) {
    c.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
    for (const s of c.commands) s.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  }
  return program;
}
