// Toolchain probe; replaced by the real core.
export function version(): i32 { return 1; }
