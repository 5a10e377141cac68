export * from './errors.js';
export * from './ip/index.js';
export * from './api/index.js';
export type { NodeNetwork, NodeNetworkRequest, PodIPAM, PodIPResult } from './cluster/ipam.js';
