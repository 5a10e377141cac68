/** The pure-TypeScript reference datapath: readable, slow, the oracle of the differential tests. */
export { ReferenceDatapath } from './reference-datapath.js';
export { mix32, flowHash, ctHash, draw, hash32, hsiphash32 } from './hash.js';
export { buildMaglevTable, maglevLookup, MAGLEV_TABLE_SIZE } from './maglev.js';
export { TypedArrayKernel, type TypedArrayKernelOptions } from './typed-array-kernel.js';
export { ReferenceLpmTable } from './lpm.js';
export { ReferenceIpSlotPool, ReferenceIpSlotPoolBatch } from './ip-pool.js';
