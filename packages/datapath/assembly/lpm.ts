// Longest-prefix-match tables (owned by the tables work; placeholder until it lands).
export function lpmVersion(): i32 { return 0; }
