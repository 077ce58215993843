/** Stack files and the Pulumi runtime: where raw values come from (the only impure part). */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { CONFIG_KEYS, SECRET_KEYS } from "./keys";
import { backendUrlProblems } from "./backend";
import { ConfigError, RawConfig, parseStackConfig } from "./parse";
import { QUOTA_ROWS, Usage, addUsage, formatQuotaTable, quotaProblems, quotaUsage } from "./quota";
import { PROJECT, StackConfig } from "./types";
// ---------------------------------------------------------------------------------------------
// Stack files

/** Reads a stack file (`Pulumi.<stack>.yaml`) into raw values without the namespace. */
export function readStackFile(dir: string, stack: string): RawConfig {
    return readStackFileAt(path.join(dir, `Pulumi.${stack}.yaml`));
}

/** Reads a stack file by its path into raw values without the namespace. */
export function readStackFileAt(file: string): RawConfig {
    const doc = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as {
        config?: Record<string, unknown>;
    };
    const raw: RawConfig = {};
    for (const [k, val] of Object.entries(doc.config ?? {})) {
        const [ns, key] = k.includes(":") ? k.split(":", 2) : [PROJECT, k];
        if (ns === PROJECT && key !== undefined) raw[key] = val;
    }
    return raw;
}

/**
 * A stack file read for its size only (quota): its secrets are that stack's business and live
 * encrypted in the file or nowhere yet, so they count as set.
 */
export function readStackFileForQuota(dir: string, stack: string): RawConfig {
    const raw = readStackFile(dir, stack);
    for (const k of SECRET_KEYS) raw[k] ??= "(not checked)";
    return raw;
}

export interface LoadedConfig {
    readonly config: StackConfig;
    /** Secret config values, still secret (Outputs); absent when not set. */
    readonly secrets?: Readonly<
        Partial<Record<(typeof SECRET_KEYS)[number], import("@pulumi/pulumi").Output<string>>>
    >;
    /** This stack and the stacks sharing its allocation, with their usage. */
    readonly quota: {
        readonly columns: { name: string; usage: Usage }[];
        readonly total: Usage;
        readonly table: string;
    };
}

/**
 * Pure but for reading sibling stack files: validates this stack's config, adds the usage of
 * the stacks that share its allocation, and fails when the total is over quota.
 */
export function checkStack(stack: string, raw: RawConfig, projectDir: string): LoadedConfig {
    const config = parseStackConfig(stack, raw);
    const columns = [{ name: stack, usage: quotaUsage(config) }];
    for (const other of config.sharesAllocationWith) {
        if (other === stack) continue;
        let otherCfg: StackConfig;
        try {
            otherCfg = parseStackConfig(other, readStackFileForQuota(projectDir, other));
        } catch (e) {
            const why = e instanceof ConfigError ? e.problems.join("; ") : String(e);
            throw new ConfigError(stack, [
                `ouvroir:sharesAllocationWith names "${other}", whose Pulumi.${other}.yaml cannot be read or is invalid: ${why}`,
            ]);
        }
        const differs = QUOTA_ROWS.filter(
            ({ key }) => otherCfg.allocation[key] !== config.allocation[key],
        );
        if (differs.length > 0) {
            throw new ConfigError(stack, [
                `ouvroir:allocation differs from Pulumi.${other}.yaml (${differs.map((d) => d.key).join(", ")}), which shares it: one OpenStack project has one allocation; make them equal.`,
            ]);
        }
        columns.push({ name: other, usage: quotaUsage(otherCfg) });
    }
    const total = columns.map((c) => c.usage).reduce(addUsage);
    const names = columns.map((c) => c.name);
    const table = formatQuotaTable(
        columns.length > 1 ? [...columns, { name: "total", usage: total }] : columns,
        config.allocation,
    );
    const over = quotaProblems(total, config.allocation, names);
    if (over.length > 0) throw new ConfigError(stack, over);
    return { config, quota: { columns, total, table } };
}

/**
 * A secret key set in plain text (`pulumi config set` without `--secret`) sits in the stack file
 * in clear, and so in git: refused, with the command that stores it encrypted.
 */
export function plainSecretProblems(
    stack: string,
    all: Record<string, string>,
    isSecret: (fullKey: string) => boolean,
): string[] {
    return SECRET_KEYS.filter((k) => `${PROJECT}:${k}` in all && !isSecret(`${PROJECT}:${k}`)).map(
        (k) =>
            `ouvroir:${k} is stored in plain text in Pulumi.${stack}.yaml (and so in git): run \`pulumi config set --secret ouvroir:${k} <value> -s ${stack}\`, and treat the old value as leaked (rotate it).`,
    );
}

/** Pulumi's own record of which config keys are secrets (internal to @pulumi/pulumi 3.248). */
function isConfigSecret(fullKey: string): boolean {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const rt = require("@pulumi/pulumi/runtime/config") as {
        isConfigSecret?: (k: string) => boolean;
    };
    if (typeof rt.isConfigSecret !== "function")
        throw new Error(
            "@pulumi/pulumi no longer exports runtime/config.isConfigSecret: update config.ts",
        );
    return rt.isConfigSecret(fullKey);
}

/** Reads this stack's config through Pulumi (the only place the program does). */
export function loadStackConfig(): LoadedConfig {
    // Imported here so the pure functions above load without the Pulumi runtime.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    const cfg = new pulumi.Config(PROJECT);
    const raw: RawConfig = {};
    // Every `ouvroir:*` key set for the stack, known or not (unknown ones are reported).
    const keys = new Set<string>(CONFIG_KEYS);
    for (const full of Object.keys(pulumi.runtime.allConfig())) {
        const [ns, key] = full.split(":", 2);
        if (ns === PROJECT && key !== undefined) keys.add(key);
    }
    for (const key of keys) {
        if ((SECRET_KEYS as readonly string[]).includes(key)) {
            raw[key] = "(secret)";
            continue;
        }
        const text = cfg.get(key);
        if (text !== undefined) raw[key] = parseConfigText(text);
    }
    const secret = (key: (typeof SECRET_KEYS)[number]) =>
        keys.has(key) ? cfg.requireSecret(key) : undefined;
    const stack = pulumi.getStack();
    const plain = [
        ...backendUrlProblems(process.env.PULUMI_BACKEND_URL ?? ""),
        ...plainSecretProblems(stack, pulumi.runtime.allConfig(), isConfigSecret),
    ];
    let checked: Omit<LoadedConfig, "secrets">;
    try {
        checked = checkStack(stack, raw, process.cwd());
    } catch (e) {
        if (e instanceof ConfigError && plain.length > 0)
            throw new ConfigError(stack, [...plain, ...e.problems]);
        throw e;
    }
    if (plain.length > 0) throw new ConfigError(stack, plain);
    return {
        ...checked,
        secrets: {
            sshPrivateKey: secret("sshPrivateKey"),
            backupAccessKeyId: secret("backupAccessKeyId"),
            backupSecretAccessKey: secret("backupSecretAccessKey"),
            alertSmtpPassword: secret("alertSmtpPassword"),
            alertWebhookUrl: secret("alertWebhookUrl"),
        },
    };
}

/** Pulumi hands structured values over as JSON text and plain strings as they are. */
export function parseConfigText(text: string): unknown {
    try {
        return JSON.parse(text) as unknown;
    } catch {
        return text;
    }
}
