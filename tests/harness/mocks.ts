/**
 * Recorded mocks for component and stack tests: every registration is kept with its inputs and
 * its resource options (caught by a stack transformation); an invoke this file does not know
 * throws, so a new cloud call cannot slip in unnoticed. No CLI, no cloud.
 */
import * as pulumi from "@pulumi/pulumi";
import { runInPulumiStack } from "@pulumi/pulumi/runtime/stack";

export interface Registration {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
    readonly opts: pulumi.ResourceOptions;
    readonly parent?: string;
}

export interface MockWorld {
    /** Outputs of the stack's previous deployment, as the engine's readStackOutputs gives them. */
    previousOutputs: Record<string, unknown>;
    /** Cinder's volumes by name, as getVolumeV3 finds them (absent: "no volume found"). */
    cloudVolumes?: Record<string, { id: string; size: number }>;
    /** What the project's quota APIs answer (default GRANTED); null: they fail. */
    cloudQuota?: typeof GRANTED | null;
}

/**
 * The quota the mock cloud grants: what the shipped stack files' ouvroir:allocation requests
 * (the RAS allocation with 20 volumes and 14 security groups), in the APIs' units.
 */
export const GRANTED = {
    compute: { instances: 10, cores: 25, ram: 50 * 1024 },
    compute_used: { totalInstancesUsed: 0, totalCoresUsed: 0, totalRamUsed: 0 },
    network: { floatingip: 2, securityGroup: 14 },
    volume: { volumes: 20, gigabytes: 10240 },
};
export const MOCK_PROJECT_ID = "0123456789abcdef0123456789abcdef";

export const EXTERNAL_NETWORK = { id: "ext-net-id", name: "Public-Network" };
export const IMAGE = { id: "debian-13-image-id", name: "Debian-13-Trixie-x64-2026-11" };

/** Private IPs stay the same for the same port across runs, so two runs can be compared. */
const ipByPort = new Map<string, string>();

let installed: { stack: string; world: MockWorld } | undefined;

/**
 * Installs the mocks once per test file and stack: a second monitor would receive the late
 * output registrations of the first one's components and fail. Later calls only swap the world.
 */
export function installMocks(stack: string, world: MockWorld, _records?: Registration[]): void {
    if (installed && installed.stack === stack) {
        installed.world.previousOutputs = world.previousOutputs;
        installed.world.cloudVolumes = world.cloudVolumes;
        installed.world.cloudQuota = world.cloudQuota;
        return;
    }
    installed = { stack, world: { ...world } };
    const current = installed.world;
    // setMocks resolves once the mock monitor is in place; registrations already wait for it.
    void pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): {
                id: string;
                state: Record<string, unknown>;
            } {
                const state: Record<string, unknown> = { ...args.inputs };
                switch (args.type) {
                    case "openstack:networking/port:Port":
                        if (!ipByPort.has(args.name))
                            ipByPort.set(args.name, `10.20.0.${10 + ipByPort.size}`);
                        state.allFixedIps = [ipByPort.get(args.name)];
                        break;
                    case "openstack:networking/floatingIp:FloatingIp":
                        state.address = "203.0.113.10";
                        break;
                    case "random:index/randomPassword:RandomPassword":
                        state.result = `mock-secret-${args.name}`;
                        break;
                    case "command:remote:Command":
                        state.stdout = "";
                        break;
                    case "openstack:blockstorage/volume:Volume":
                        // A Cinder-like UUID whose first 20 characters are stable per volume.
                        state.id = undefined;
                        return {
                            id: `0f0e0d0c-${args.name.length.toString().padStart(4, "0")}-4000-8000-${args.name
                                .replace(/[^a-f0-9]/g, "")
                                .padEnd(12, "0")
                                .slice(0, 12)}`,
                            state,
                        };
                }
                return { id: `${args.name}-id`, state };
            },
            call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
                switch (args.token) {
                    case "pulumi:pulumi:readStackOutputs":
                        return {
                            name: args.inputs.name,
                            outputs: current.previousOutputs,
                            secretOutputNames: [],
                        };
                    case "openstack:networking/getNetwork:getNetwork":
                        return { ...EXTERNAL_NETWORK, external: true };
                    case "openstack:images/getImage:getImage":
                        return { ...IMAGE };
                    case "openstack:networking/getSubnet:getSubnet":
                        return { id: args.inputs.subnetId, cidr: "192.168.17.0/24" };
                    case "openstack:identity/getAuthScope:getAuthScope":
                        return { name: "current", projectId: MOCK_PROJECT_ID };
                    case "openstack:compute/getQuotaSetV2:getQuotaSetV2":
                    case "openstack:compute/getLimitsV2:getLimitsV2":
                    case "openstack:networking/getQuotaV2:getQuotaV2":
                    case "openstack:blockstorage/getQuotasetV3:getQuotasetV3": {
                        const q = current.cloudQuota === undefined ? GRANTED : current.cloudQuota;
                        if (q === null)
                            throw new Error(
                                "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.",
                            );
                        if (args.token.includes("getLimitsV2")) return { ...q.compute_used };
                        if (args.token.includes("getQuotaSetV2")) return { ...q.compute };
                        return args.token.includes("getQuotaV2")
                            ? { ...q.network }
                            : { ...q.volume };
                    }
                    case "openstack:blockstorage/getVolumeV3:getVolumeV3": {
                        const v = current.cloudVolumes?.[String(args.inputs.name)];
                        if (!v) throw new Error("Your query returned no results.");
                        return { ...v, name: args.inputs.name };
                    }
                    default:
                        throw new Error(
                            `unexpected invoke ${args.token} ${JSON.stringify(args.inputs)}`,
                        );
                }
            },
        },
        "ouvroir",
        stack,
        false,
        "organization",
    );
}

/** Transformation that records every resource with its options; returns nothing (no change). */
export function recorder(records: Registration[]): pulumi.ResourceTransformation {
    return (args) => {
        records.push({
            type: args.type,
            name: args.name,
            inputs: args.props as Record<string, unknown>,
            opts: args.opts,
            // The parent's logical name (Pulumi keeps it on the resource as __name).
            parent: (args.opts.parent as unknown as { __name?: string } | undefined)?.__name,
        });
        return undefined;
    };
}

/** Runs `body` inside a real Stack resource so stack transformations apply, and waits for it. */
export async function runStack<T>(records: Registration[], body: () => Promise<T> | T): Promise<T> {
    let result: T | undefined;
    let failure: unknown;
    await runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation(recorder(records));
        try {
            result = await body();
        } catch (e) {
            // Rethrown below: thrown inside the stack it would be an unhandled rejection.
            failure = e;
        }
        return undefined;
    });
    if (failure !== undefined) throw failure;
    return result as T;
}

/** Resolves an Output in a test. */
export function valueOf<T>(o: pulumi.Input<T> | undefined): Promise<T> {
    return new Promise((resolve) =>
        pulumi.output(o as pulumi.Input<T>).apply((v) => resolve(v as T)),
    );
}

/** The recorded resolved inputs of one resource. */
export async function resolved(r: Registration): Promise<Record<string, unknown>> {
    return (await valueOf(pulumi.output(r.inputs))) as Record<string, unknown>;
}

export function byType(records: readonly Registration[], type: string): Registration[] {
    return records.filter((r) => r.type === type);
}

/** Config of a stack file as Pulumi hands it to the program (`ouvroir:key` → text). */
export function stackConfigForRuntime(raw: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(
        Object.entries(raw).map(([k, v]) => [
            `ouvroir:${k}`,
            typeof v === "string" ? v : JSON.stringify(v),
        ]),
    );
}

/**
 * Runs the whole program (index.ts) for a stack under mocks, with that stack's real file plus
 * `overrides`, and returns every registration and the stack outputs.
 */
export async function runProgram(
    stack: string,
    overrides: Record<string, unknown> = {},
    previousOutputs: Record<string, unknown> = {},
    /** Where registrations are recorded: pass one to see them when the program throws. */
    records: Registration[] = [],
    cloudVolumes?: MockWorld["cloudVolumes"],
    cloudQuota?: MockWorld["cloudQuota"],
): Promise<{ records: Registration[]; outputs: Record<string, unknown> }> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { readStackFile } = require("../../config") as typeof import("../../config");
    installMocks(
        stack,
        {
            previousOutputs,
            ...(cloudVolumes ? { cloudVolumes } : {}),
            ...(cloudQuota !== undefined ? { cloudQuota } : {}),
        },
        records,
    );
    // Secrets an operator sets with `pulumi config set --secret` (fixtures, never real values).
    // An override of a secret key replaces the fixture (the after-deploy test rotates one).
    const secretValue = (key: string, fixture: string): string =>
        typeof overrides[key] === "string" ? (overrides[key] as string) : fixture;
    const secrets = {
        "ouvroir:backupAccessKeyId": secretValue("backupAccessKeyId", "test-access-key"),
        "ouvroir:backupSecretAccessKey": secretValue("backupSecretAccessKey", "test-secret-key"),
        "ouvroir:alertSmtpPassword": secretValue("alertSmtpPassword", "test-smtp-password"),
        "ouvroir:alertWebhookUrl": secretValue("alertWebhookUrl", "https://hooks.example.org/test"),
    };
    const plain = Object.fromEntries(
        Object.entries(overrides).filter(([k]) => !(`ouvroir:${k}` in secrets)),
    );
    pulumi.runtime.setAllConfig(
        {
            ...stackConfigForRuntime({ ...readStackFile(`${__dirname}/../..`, stack), ...plain }),
            ...secrets,
        },
        Object.keys(secrets),
    );
    const cwd = process.cwd();
    process.chdir(`${__dirname}/../..`);
    try {
        // The program function itself (index.ts only calls it), run afresh each time: no module
        // isolation, which re-ran every dependency's module code (and its exit hooks) per run.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { program } = require("../../program") as typeof import("../../program");
        const outputs = await runStack(records, async () => {
            return (await valueOf(pulumi.output(await program()))) as Record<string, unknown>;
        });
        return { records, outputs };
    } finally {
        process.chdir(cwd);
    }
}
