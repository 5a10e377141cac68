// The TypeScript typed-array kernel (a benchmark baseline) computes what the core computes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PACKET_WORDS, packPacketHead, packPorts } from '../src/index.js';
import { TypedArrayKernel } from '../src/reference/index.js';
import { newDatapath } from './helpers.js';

describe('TypedArrayKernel', () => {
  it('matches the core on iptables and nftables nodes, with hash lookup and with the literal rule walk', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('iptables', 'nftables'),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.record({ ready: fc.boolean(), terminating: fc.boolean(), node: fc.integer({ min: -1, max: 1 }) }), { maxLength: 6 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 60 }),
        fc.boolean(),
        (mode, spCount, eps, packets, linear) => {
          const dp = newDatapath({ seed: 5, conntrackMax: 1000 });
          dp.addNode({ mode, localTrafficDetector: '10.0.0.0/16', serviceCIDR: '10.96.0.0/16' });
          dp.addNode({ mode });
          dp.setLocalAddress(0, '192.168.0.1');
          const rules: number[] = [];
          for (let sp = 0; sp < spCount; sp++) {
            dp.setServicePort(sp, { externalTrafficPolicy: sp % 2 ? 'Local' : 'Cluster', internalTrafficPolicy: sp % 3 === 2 ? 'Local' : 'Cluster' });
            dp.addServiceAddress('TCP', 0x0a600001 + sp, 80, sp);
            dp.setNodePort('TCP', 30000 + sp, sp);
            rules.push(6, 0x0a600001 + sp, 80, sp);
            dp.setEndpoints(sp, eps.map((e, i) => ({ ip: 0x0a000200 + i, port: 8080, node: e.node, ready: e.ready, serving: true, terminating: e.terminating, id: i })));
          }
          const kernel = new TypedArrayKernel(dp, { conntrackMax: 1000, ...(linear ? { linearRules: new Uint32Array(rules) } : {}) });
          const batch = dp.createBatch(packets.length);
          packets.forEach(([node, target, port, arrival], i) => {
            const nodePort = target >= spCount;
            const wrongPort = port % 7 === 0; // a ClusterIP on a port no Service has (nftables rejects it)
            batch.packets.set([packPacketHead(node, arrival, 6), arrival === 2 ? 0x08080808 : 0x0a000101, nodePort ? 0xc0a80001 : 0x0a600001 + target,
              packPorts(1000 + port, nodePort ? 30000 + (target % spCount) : wrongPort ? 81 : 80)], i * PACKET_WORDS);
          });
          kernel.processBatch(batch);
          const fromKernel = batch.results.slice();
          dp.processBatch(batch);
          expect(fromKernel).toEqual(batch.results.slice());
        },
      ),
      { numRuns: 200 },
    );
  });
});
