// Entry of the datapath module. The core (services, endpoints, selection, conntrack) is exported from here;
// the LPM tables and IP pools live in their own files and are re-exported.
export * from './lpm';
export * from './ip-pool';
export function version(): i32 { return 1; }
