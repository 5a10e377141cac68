import type { Command } from 'commander';
import type { Io } from '../io.js';

export function registerProxy(program: Command, io: Io): void {
  void program;
  void io;
}
