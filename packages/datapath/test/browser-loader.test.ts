// The browser entry: streams the module over HTTP (instantiateStreaming when served as application/wasm, bytes
// otherwise), gives independent instances, and explains a missing file.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatapathError, Verdict, loadDatapath } from '../src/browser.js';

const bytes = readFileSync(new URL('../build/datapath.wasm', import.meta.url));
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/datapath.wasm') { res.writeHead(200, { 'content-type': 'application/wasm' }); res.end(bytes); return; }
    if (req.url === '/octets') { res.writeHead(200, { 'content-type': 'application/octet-stream' }); res.end(bytes); return; }
    res.writeHead(404); res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('browser loadDatapath', () => {
  for (const path of ['/datapath.wasm', '/octets']) {
    it(`loads from a URL (${path}) and processes packets`, async () => {
      const dp = await loadDatapath({ wasm: new URL(path, base), seed: 1 });
      const node = dp.addNode({});
      dp.setServicePort(0, {});
      dp.addServiceAddress('TCP', '10.96.0.1', 443, 0);
      dp.setEndpoints(0, [{ ip: '192.168.0.10', port: 6443, node: -1, id: 42 }]);
      const batch = dp.createBatch(1);
      batch.setPacket(0, { node, arrival: 'pod', protocol: 'TCP', srcIP: '10.0.1.1', srcPort: 5000, dstIP: '10.96.0.1', dstPort: 443 });
      dp.processBatch(batch);
      expect(batch.result(0)).toMatchObject({ verdict: Verdict.DNAT, endpointId: 42, dstPort: 6443 });
    });
  }

  it('says where the module was expected when it cannot be fetched', async () => {
    await expect(loadDatapath({ wasm: new URL('/missing.wasm', base) })).rejects.toThrow(DatapathError);
    await expect(loadDatapath({ wasm: new URL('/missing.wasm', base) })).rejects.toThrow(/missing\.wasm/);
  });
});
