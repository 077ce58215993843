/**
 * Configuration: the key table (keys.ts), the types (types.ts), the parser and its checks
 * (parse.ts), the quota arithmetic (quota.ts), the data-loss guards (guards.ts) and the stack
 * files (load.ts). Generated from the table: Pulumi.yaml's `config:` block and the README's
 * settings table (docs.ts).
 */
export * from "./guards";
export * from "./keys";
export * from "./load";
export * from "./parse";
export * from "./quota";
export * from "./types";
export * from "./backend";
