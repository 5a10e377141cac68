// What both entries (Node and browser) export besides their loader.
export * from './abi.js';
export type * from './config.js';
export { Datapath } from './datapath.js';
export { PacketBatch, type PacketInput, type PacketResult, type Arrival } from './packet-batch.js';
export { DatapathError, DatapathAbortError, type DatapathErrorCode } from './errors.js';
export { kubeProxyProbability, statisticThreshold } from './iptables-probability.js';
export { toIPv4, formatIPv4 } from './ipv4.js';
export { instantiateDatapath } from './instantiate.js';
export { LpmTable, type LpmTableLike, type LpmEntry, type LpmTableOptions } from './lpm-table.js';
export { IpSlotPool, IpSlotPoolBatch, type IpSlotPoolBatchLike, type IpSlotPoolLike, type IpSlotPoolOptions, type IpSlotCounts, type SlotState } from './ip-pool.js';
export * from './abi-tables.js';
export { DEFAULT_IP_COOLDOWN_SECONDS } from './ip-pool.js';
export { WasmU32Buffer, type DatapathTablesHost } from './tables-memory.js';
