// IP slot pools for the CNI (owned by the tables work; placeholder until it lands).
export function ipPoolVersion(): i32 { return 0; }
