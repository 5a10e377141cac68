import type { Command } from 'commander';
import type { Io } from '../io.js';
import { registerCni } from './cni.js';
import { registerDemo } from './demo.js';
import { registerInspect } from './inspect.js';
import { registerProxy } from './proxy.js';

/** Each command lives in its own file and registers itself here. */
export function registerCommands(program: Command, io: Io): void {
  registerDemo(program, io);
  registerInspect(program, io);
  registerCni(program, io);
  registerProxy(program, io);
}
