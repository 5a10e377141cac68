import type { Command } from 'commander';
import type { Io } from '../io.js';

/** Each command lives in its own file and registers itself here. */
export function registerCommands(program: Command, io: Io): void {
  void program;
  void io;
}
