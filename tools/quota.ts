/**
 * `npm run quota [stack...]`: what the stacks cost in instances, vCPU, RAM, volumes, volume
 * storage, floating IPs and security groups, against the allocation. Reads the stack files
 * only: no cloud, no Pulumi CLI. Exits 1 when the total is over the allocation.
 */
import * as fs from "fs";
import {
    ConfigError,
    addUsage,
    formatQuotaTable,
    parseStackConfig,
    quotaProblems,
    quotaUsage,
    readStackFileForQuota,
} from "../config";
import { MONITORING_QUOTA_NOTE } from "../components/monitoring";

const USAGE = `usage: npm run quota [-- STACK...]
What the stacks (default: dev and prod) use of the project's allocation, from their stack files
only (no cloud, no Pulumi). Exits 1 when they are over it.`;
const dir = process.cwd();
const requested = process.argv.slice(2);
if (requested.includes("--help") || requested.includes("-h")) {
    console.log(USAGE);
    process.exit(0);
}
for (const s of requested) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s) || !fs.existsSync(`${dir}/Pulumi.${s}.yaml`)) {
        console.error(`quota: no stack file Pulumi.${s}.yaml here\n${USAGE}`);
        process.exit(2);
    }
}
const stacks =
    requested.length > 0
        ? requested
        : ["dev", "prod"].filter((s) => fs.existsSync(`${dir}/Pulumi.${s}.yaml`));

try {
    const configs = stacks.map((s) => parseStackConfig(s, readStackFileForQuota(dir, s)));
    const columns = configs.map((c) => ({ name: c.stack, usage: quotaUsage(c) }));
    const total = columns.map((c) => c.usage).reduce(addUsage);
    const allocation = configs[0]?.allocation;
    if (!allocation) throw new Error("no stack files found");
    const all = columns.length > 1 ? [...columns, { name: "both", usage: total }] : columns;
    console.log(
        `Quota: ${stacks.join(" + ")} against the project's allocation (ouvroir:allocation)\n`,
    );
    console.log(formatQuotaTable(all, allocation));
    const over = quotaProblems(total, allocation, stacks);
    if (over.length > 0) {
        console.log("\n" + over.join("\n"));
        process.exitCode = 1;
    } else {
        console.log("\nWithin the allocation. '!' marks a value over it.");
    }
    console.log(`\n${MONITORING_QUOTA_NOTE}`);
} catch (e) {
    console.error(e instanceof ConfigError ? e.message : String(e));
    process.exitCode = 1;
}
