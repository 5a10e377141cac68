// Shared by the kernel tests (iptables and nftables): what this machine can do, a network namespace of the test's
// own, and the small Node programs that listen on endpoint addresses and open one connection at a time inside it.
// Node-only test support; nothing here touches the host's own network namespace except `ip netns add/del`.
import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Protocol } from '../../src/api/meta.js';
import type { EndpointSlice } from '../../src/api/core.js';

export function runCommand(cmd: string, args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 20_000 });
}

/** What a kernel test needs from the machine. */
export type KernelNeed = 'iptables' | 'nft';

/** The machine's capabilities, and why a test cannot run when it cannot. */
export interface KernelCapability {
  /** Undefined when every need is met; otherwise what is missing, for the skip message. */
  reason: string | undefined;
  /** `nf_tables` or `legacy`: the backend `iptables-restore` uses here (iptables-nft or iptables-legacy). */
  iptablesBackend: 'nf_tables' | 'legacy' | undefined;
  /** `iptables --version` output, e.g. `iptables v1.8.9 (nf_tables)`. */
  iptablesVersion: string | undefined;
}

/** Checks root, `ip netns`, and the tools the test needs (`iptables-restore`/`iptables-save`, or `nft`). */
export function kernelCapability(needs: readonly KernelNeed[]): KernelCapability {
  const version = runCommand('iptables', ['--version']);
  const iptablesVersion = version.status === 0 ? version.stdout.trim() : undefined;
  const iptablesBackend = iptablesVersion === undefined ? undefined : iptablesVersion.includes('nf_tables') ? 'nf_tables' : 'legacy';
  const missing = (): string | undefined => {
    if (process.platform !== 'linux') return 'needs Linux network namespaces';
    if (process.getuid?.() !== 0) return 'needs root (network namespaces, iptables/nft)';
    if (runCommand('ip', ['-V']).status !== 0) return 'needs the ip command (package iproute2)';
    if (runCommand('ip', ['netns', 'list']).status !== 0) return 'needs `ip netns` support';
    if (needs.includes('iptables')) {
      if (iptablesVersion === undefined) return 'needs the iptables command (package iptables)';
      for (const tool of ['iptables-restore', 'iptables-save']) if (runCommand(tool, ['--version']).status !== 0) return `needs ${tool}`;
    }
    if (needs.includes('nft') && runCommand('nft', ['--version']).status !== 0) return 'needs the nft command (package nftables)';
    return undefined;
  };
  return { reason: missing(), iptablesBackend, iptablesVersion };
}

/**
 * Skips the running test with the reason, or fails it under `CI=true` (where the capability is required).
 * Call first in each kernel test: `requireKernel(ctx, capability)`.
 */
export function requireKernel(ctx: { skip: (note?: string) => void }, capability: KernelCapability): void {
  if (capability.reason === undefined) return;
  if (process.env.CI === 'true') throw new Error(`kernel test cannot run under CI: ${capability.reason}`);
  ctx.skip(capability.reason);
}

/** A network namespace named uniquely for this test run. */
export class TestNamespace {
  readonly name: string;

  constructor(prefix: string) {
    this.name = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
  }

  /** Creates the namespace and checks that it exists (so no socket is ever opened outside it). */
  create(): void {
    const r = runCommand('ip', ['netns', 'add', this.name]);
    if (r.status !== 0) throw new Error(`ip netns add ${this.name} failed: ${r.stderr}`);
    if (!this.exists()) throw new Error(`namespace ${this.name} was not created`);
  }

  exists(): boolean {
    return runCommand('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === this.name);
  }

  /** Runs a command inside the namespace; throws with its stderr when it fails. */
  exec(args: string[], input?: string): string {
    const r = runCommand('ip', ['netns', 'exec', this.name, ...args], input);
    if (r.status !== 0) throw new Error(`ip netns exec ${this.name} ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
    return r.stdout;
  }

  /**
   * A node inside the namespace: lo up, `eth0` (a veth whose peer stays inside) with the node IP and the default
   * route (so ClusterIPs, on no interface, are routable), and each extra address on lo.
   */
  setUpNode(nodeIP: string, loAddresses: readonly string[]): void {
    this.exec(['ip', 'link', 'set', 'lo', 'up']);
    this.exec(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer']);
    this.exec(['ip', 'addr', 'add', `${nodeIP}/24`, 'dev', 'eth0']);
    this.exec(['ip', 'link', 'set', 'eth0', 'up']);
    this.exec(['ip', 'route', 'add', 'default', 'dev', 'eth0']);
    for (const ip of new Set(loAddresses)) this.exec(['ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo']);
  }

  /**
   * Makes `pod` a pod of this node: a veth pair, `eni<n>` here (as the VPC CNI names host-side veths) with
   * `gateway/24` and `eth0` in the pod with `podIP/24` and the default route via the gateway; forwarding on here.
   */
  attachPod(pod: TestNamespace, hostInterface: string, gateway: string, podIP: string): void {
    this.exec(['ip', 'link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', 'pod-eth0']);
    this.exec(['ip', 'link', 'set', 'pod-eth0', 'netns', pod.name]);
    this.exec(['ip', 'addr', 'add', `${gateway}/24`, 'dev', hostInterface]);
    this.exec(['ip', 'link', 'set', hostInterface, 'up']);
    this.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    pod.exec(['ip', 'link', 'set', 'lo', 'up']);
    pod.exec(['ip', 'link', 'set', 'pod-eth0', 'name', 'eth0']);
    pod.exec(['ip', 'addr', 'add', `${podIP}/24`, 'dev', 'eth0']);
    pod.exec(['ip', 'link', 'set', 'eth0', 'up']);
    pod.exec(['ip', 'route', 'add', 'default', 'via', gateway]);
  }

  delete(): void {
    runCommand('ip', ['netns', 'del', this.name]);
  }
}

/** An endpoint the test listens on. */
export interface Listener {
  ip: string;
  port: number;
  protocol: Protocol;
}

/** One listener per endpoint address × port of the slices (each once): the servers a test's Services lead to. */
export function listenersOf(slices: readonly EndpointSlice[]): Listener[] {
  const seen = new Map<string, Listener>();
  for (const slice of slices) {
    for (const endpoint of slice.endpoints) {
      for (const ip of endpoint.addresses) {
        for (const port of slice.ports ?? []) {
          if (port.port === undefined) continue; // a port-less slice leads nowhere to listen on
          const listener: Listener = { ip, port: port.port, protocol: port.protocol ?? 'TCP' };
          seen.set(`${ip} ${listener.port} ${listener.protocol}`, listener);
        }
      }
    }
  }
  return [...seen.values()];
}

// Every endpoint answers with its own IP:port, so the client learns which one accepted the connection.
const SERVER = `
const net = require('node:net'); const dgram = require('node:dgram');
const listeners = JSON.parse(process.argv[1]); let pending = listeners.length;
const up = () => { if (--pending === 0) console.log('ready'); };
for (const l of listeners) {
  const name = l.ip + ':' + l.port;
  if (l.protocol === 'TCP') net.createServer((s) => s.end(name)).listen(l.port, l.ip, up);
  else { const u = dgram.createSocket('udp4'); u.on('message', (m, r) => u.send(name, r.port, r.address)); u.bind(l.port, l.ip, up); }
}`;

// One connection (or one datagram and its answer): prints the endpoint that answered, REFUSED or TIMEOUT.
const CLIENT = `
const net = require('node:net'); const dgram = require('node:dgram');
const [proto, host, port] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const done = (s) => { console.log(s); process.exit(0); };
setTimeout(() => done('TIMEOUT'), 1500);
if (proto === 'TCP') {
  const c = net.connect({ host, port }); let data = '';
  c.on('data', (d) => (data += d)); c.on('end', () => done(data));
  c.on('error', (e) => done(e.code === 'ECONNREFUSED' || e.code === 'EHOSTUNREACH' ? 'REFUSED' : e.code));
} else {
  const u = dgram.createSocket('udp4');
  u.on('message', (m) => done(String(m))); u.on('error', (e) => done(e.code === 'ECONNREFUSED' ? 'REFUSED' : e.code));
  u.connect(port, host, () => u.send('q'));
}`;

/** Starts one process in the namespace listening on every endpoint; resolves when all are bound. */
export async function startListeners(ns: TestNamespace, listeners: readonly Listener[]): Promise<ChildProcess> {
  const server = spawn('ip', ['netns', 'exec', ns.name, 'node', '-e', SERVER, JSON.stringify(listeners)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (d: Buffer) => String(d).includes('ready') && resolve());
    server.on('exit', (code) => reject(new Error(`listener process exited with ${code}`)));
  });
  return server;
}

/** Opens one connection from inside the namespace: the `IP:port` that answered, `REFUSED` or `TIMEOUT`. */
export function connectOnce(ns: TestNamespace, protocol: Protocol, host: string, port: number): string {
  return ns.exec(['node', '-e', CLIENT, protocol, host, String(port)]).trim();
}
