// Entry of the datapath module. The core (services, endpoints, selection, conntrack) is exported from here;
// the LPM tables and IP pools live in their own files and are re-exported.
export * from './lpm';
export * from './ip-pool';
import { fail, setNow, setSeed, nowSeconds, initialized, markInitialized, allocZeroed, ST_OK, ST_BAD_ARGUMENT,
  ST_NOT_INITIALIZED } from './core-state';
import { initNodes } from './nodes';
import { initServices, spPtr, spCapacity, SP_SIZE } from './services';
import { initConntrack, coreConntrackSweep } from './conntrack';
import { initSelect, affinitySweep } from './select';
import { initLc } from './ipvs-lc';
import { initRecent } from './recent';

export { coreLastError, coreLastErrorDetail } from './core-state';
export { coreHsiphash32, coreDraw, coreFlowHash, coreCtHash } from './hash';
export { coreAddNode, coreConfigureNode, coreSetLocalAddress, coreRemoveLocalAddress } from './nodes';
export { coreSetServicePort, coreRemoveServicePort, coreAddServiceAddress, coreRemoveServiceAddress, coreSetNodePort,
  coreServiceAddressCount, coreServiceTableBytes } from './services';
export { coreSetEndpoints, coreEndpointCount, coreClusterEndpointCount, coreEndpointBlockBytes } from './endpoints';
export { coreSetConntrackTimeouts, coreConntrackStat, coreConntrackFlush } from './conntrack';
export { coreStatisticTable, coreStatisticTableLength, coreAffinityCount } from './select';
export { coreLcConnections } from './ipvs-lc';
export { coreRecentListCount } from './recent';
export { coreProcessBatch } from './batch';
export { coreSetNodeIP, coreSetSourceRanges } from './source-ranges';
export { coreSetHealthCheckNodePort } from './ipvs-filter';

export function version(): i32 { return 2; }

/**
 * Allocates the core's arenas. Capacities are starting sizes (tables grow) except `conntrackMax`, the fixed
 * maximum number of conntrack entries (like nf_conntrack_max). Call once per instance. Status.
 */
export function coreInit(nodeCapacity: u32, servicePortCapacity: u32, serviceAddressCapacity: u32, conntrackMax: u32, seed: u32): i32 {
  if (initialized) return fail(ST_BAD_ARGUMENT, 0);
  if (conntrackMax < 1 || conntrackMax > (1 << 26)) return fail(ST_BAD_ARGUMENT, 4);
  setSeed(seed);
  setNow(0);
  initNodes(nodeCapacity);
  initServices(servicePortCapacity, serviceAddressCapacity);
  initConntrack(conntrackMax);
  initSelect();
  initLc();
  initRecent();
  markInitialized();
  return ST_OK;
}

/** Sets simulated time in seconds; it may not go back. Status. */
export function coreSetTime(seconds: u32): i32 {
  if (!initialized) return fail(ST_NOT_INITIALIZED, 0);
  if (seconds < nowSeconds) return fail(ST_BAD_ARGUMENT, <i32>nowSeconds);
  setNow(seconds);
  return ST_OK;
}
export function coreNow(): u32 { return nowSeconds; }

/** Expires conntrack and affinity entries whose time has passed; returns the conntrack entries removed. */
export function coreSweep(): u32 {
  affinitySweep(spPtr, SP_SIZE, spCapacity);
  return coreConntrackSweep();
}

/** Zeroed scratch memory for batches and endpoint lists (freed with coreFree). */
export function coreAlloc(bytes: u32): usize { return bytes == 0 ? 0 : allocZeroed(bytes); }
export function coreFree(ptr: usize): void { if (ptr != 0) heap.free(ptr); }

import { ctPtr, ctMask, ctMax } from './conntrack';
import { nodesPtr, nodeCount, addrTableLayout } from './nodes';
import { svcTableLayout } from './services';
import { statisticTablePtr } from './select';
import { seed } from './core-state';
/** Addresses and sizes of the arenas (Layout in src/abi.ts), for the TypeScript typed-array kernel. Valid until the next table change. */
export function coreLayout(which: u32): u32 {
  switch (which) {
    case 0: return <u32>spPtr;
    case 1: return svcTableLayout(0);
    case 2: return svcTableLayout(1);
    case 3: return <u32>ctPtr;
    case 4: return ctMask;
    case 5: return <u32>statisticTablePtr();
    case 6: return <u32>nodesPtr;
    case 7: return nodeCount;
    case 8: return seed;
    case 9: return nowSeconds;
    case 10: return svcTableLayout(2);
    case 11: return ctMax;
    case 12: return addrTableLayout(0);
    case 13: return addrTableLayout(1);
    case 14: return svcTableLayout(3);
    case 15: return svcTableLayout(4);
    default: return 0;
  }
}
