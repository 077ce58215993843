/**
 * Runs the real Pulumi program (index.ts) under `pulumi.runtime.setMocks` for one stack and
 * records every registration the way `pulumi stack export` would show it: URN, type, parent,
 * `protect`, inputs and (mocked) outputs, plus the stack outputs. Used by the migration round
 * trip and by the policy pack's whole-program check. One program run per jest test file: the
 * Pulumi runtime is process-global.
 *
 * The mocks give realistic outputs (UUID ids, addresses in the subnet, the cloud's image and
 * external network) and throw on any invoke they do not know, so a new lookup in the program
 * shows up here instead of silently returning nothing.
 */
import { GRANTED } from "../harness/mocks";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { SECRET_KEYS } from "../../config";

export const REPO = path.resolve(__dirname, "..", "..");

/** What the mocked cloud looks like: the answers to the program's lookups. */
export interface MockCloud {
    readonly externalNetwork: { readonly id: string; readonly name: string };
    readonly image: { readonly id: string; readonly name: string };
    /** For `existingNetwork` stacks: the CIDR of the adopted subnet. */
    readonly existingSubnetCidr?: string;
}

export const BELUGA: MockCloud = {
    externalNetwork: { id: "6a1c9a3e-0c52-4a4e-9d2b-5f0e2c7b1d11", name: "Public-Network-Beluga" },
    image: { id: "3f0d0f7e-5b7a-4c1e-8a53-1e2b8c9d0a42", name: "Debian-12-bookworm-x64-2026-10" },
};

export const ARBUTUS: MockCloud = {
    externalNetwork: { id: "b2c5e0f1-7d3a-4b8e-9c61-0a4d2e6f8b73", name: "Public-Network" },
    image: { id: "9e4a7c21-3b5d-4f60-8e1a-2c7d9b0f5e36", name: "Debian-12-x64-2026-09" },
};

/** One resource of a `pulumi stack export` (version 3), the fields we use. */
export interface ExportedResource {
    urn: string;
    custom: boolean;
    id?: string;
    type: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    parent?: string;
    protect?: boolean;
    retainOnDelete?: boolean;
    provider?: string;
    dependencies?: string[];
}

export interface StackExport {
    version: number;
    deployment: {
        manifest: Record<string, unknown>;
        secrets_providers?: Record<string, unknown>;
        resources: ExportedResource[];
    };
}

/** Raw `ouvroir:*` values of a stack file, as the CLI hands them to the program (JSON text). */
export function stackFileConfig(file: string): Record<string, string> {
    const doc = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as {
        config?: Record<string, unknown>;
    };
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        const full = key.includes(":") ? key : `ouvroir:${key}`;
        out[full] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

/**
 * The stack file's config plus stand-ins for the secrets an operator sets with
 * `pulumi config set --secret` (the backup bucket's keys when `ouvroir:backup` is set, the SMTP
 * relay's password when `ouvroir:alerts` is).
 */
export function withMockSecrets(config: Record<string, string>): Record<string, string> {
    const set = (key: string): boolean => ![undefined, "{}"].includes(config[`ouvroir:${key}`]);
    return {
        ...(set("backup")
            ? {
                  "ouvroir:backupAccessKeyId": "mock-access-key",
                  "ouvroir:backupSecretAccessKey": "mock-secret-key",
              }
            : {}),
        ...(set("alerts") ? { "ouvroir:alertSmtpPassword": "mock-smtp-password" } : {}),
        ...config,
    };
}

/** A stable UUID from a seed, so fixtures and snapshots do not change between runs. */
export function uuidFrom(seed: string): string {
    const h = crypto.createHash("sha256").update(seed).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function ipIn(cidr: string, host: number): string {
    const [base = "10.0.0.0"] = cidr.split("/");
    const octets = base.split(".").map(Number);
    octets[3] = (octets[3] ?? 0) + host;
    return octets.join(".");
}

/**
 * Runs index.ts for `stack` with `config` (full keys, e.g. `ouvroir:roles`) on `cloud`. Returns
 * what `pulumi stack export` would hold after a successful `pulumi up` with those answers.
 */
export async function runProgram(
    stack: string,
    config: Record<string, string>,
    cloud: MockCloud,
    /** `plaintext`: secrets as `pulumi stack import` accepts them, for the CLI to encrypt. */
    secrets: "mock-ciphertext" | "plaintext" = "mock-ciphertext",
): Promise<StackExport> {
    const project = "ouvroir";
    let host = 10;
    const subnetCidrs: string[] = [];
    const mocks: pulumi.runtime.Mocks = {
        newResource(args: pulumi.runtime.MockResourceArgs): {
            id: string | undefined;
            state: Record<string, unknown>;
        } {
            const id = uuidFrom(`${stack}/${args.type}/${args.name}`);
            const inputs = args.inputs as Record<string, unknown>;
            const state: Record<string, unknown> = { ...inputs };
            switch (args.type) {
                case "openstack:networking/subnet:Subnet":
                    subnetCidrs.push(String(inputs["cidr"]));
                    break;
                case "openstack:networking/port:Port": {
                    const cidr = subnetCidrs[0] ?? cloud.existingSubnetCidr ?? "10.0.0.0/24";
                    const ip = ipIn(cidr, host++);
                    state["allFixedIps"] = [ip];
                    state["fixedIps"] = [
                        {
                            ...((inputs["fixedIps"] as object[] | undefined)?.[0] ?? {}),
                            ipAddress: ip,
                        },
                    ];
                    state["macAddress"] =
                        `fa:16:3e:${id.slice(0, 2)}:${id.slice(2, 4)}:${id.slice(4, 6)}`;
                    break;
                }
                case "openstack:networking/floatingIp:FloatingIp":
                    state["address"] = `206.12.${90 + (host % 10)}.${host++}`;
                    state["status"] = "ACTIVE";
                    break;
                case "openstack:compute/instance:Instance":
                    state["accessIpV4"] = "";
                    state["powerState"] = "active";
                    state["allMetadata"] = inputs["metadata"] ?? {};
                    break;
                case "openstack:blockstorage/volume:Volume":
                    state["attachments"] = [];
                    state["availabilityZone"] = "nova";
                    break;
                case "random:index/randomPassword:RandomPassword":
                    state["result"] = uuidFrom(`${stack}/${args.name}/secret`).replace(/-/g, "");
                    break;
                case "command:remote:Command":
                    state["stdout"] = "";
                    state["stderr"] = "";
                    break;
                case "openstack:networking/secGroup:SecGroup":
                    state["tenantId"] = "e0b1d2c3a4f5061728394a5b6c7d8e9f";
                    break;
                default:
                    break;
            }
            return { id, state };
        },
        call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
            switch (args.token) {
                case "pulumi:pulumi:readStackOutputs":
                    // First deployment: the stack has no outputs yet.
                    return { name: args.inputs.name, outputs: {}, secretOutputNames: [] };
                case "openstack:images/getImage:getImage":
                    return {
                        id: cloud.image.id,
                        name: cloud.image.name,
                        ...args.inputs,
                        minDiskGb: 0,
                    };
                case "openstack:networking/getNetwork:getNetwork":
                    return {
                        id: cloud.externalNetwork.id,
                        name: cloud.externalNetwork.name,
                        external: true,
                        ...args.inputs,
                    };
                case "openstack:networking/getSubnet:getSubnet":
                    return {
                        id: args.inputs["subnetId"],
                        cidr: cloud.existingSubnetCidr ?? "192.168.0.0/24",
                        ...args.inputs,
                    };
                // The project's quota: what the stack files request is granted.
                case "openstack:identity/getAuthScope:getAuthScope":
                    return { name: "current", projectId: uuidFrom(`${stack}/project`) };
                case "openstack:compute/getQuotaSetV2:getQuotaSetV2":
                    return { ...GRANTED.compute };
                case "openstack:compute/getLimitsV2:getLimitsV2":
                    return { ...GRANTED.compute_used };
                case "openstack:networking/getQuotaV2:getQuotaV2":
                    return { ...GRANTED.network };
                case "openstack:blockstorage/getQuotasetV3:getQuotasetV3":
                    return { ...GRANTED.volume };
                default:
                    throw new Error(
                        `unexpected invoke ${args.token}(${JSON.stringify(args.inputs)})`,
                    );
            }
        },
    };

    // The secret keys arrive marked secret, as the CLI passes them (`secure:` in the stack file).
    pulumi.runtime.setAllConfig(
        config,
        Object.keys(config).filter((k) => SECRET_KEYS.some((s) => k === `ouvroir:${s}`)),
    );
    await pulumi.runtime.setMocks(mocks, project, stack, false, "organization");

    // Record what the engine would: each registration's URN, parent, options and inputs.
    const recorded: ExportedResource[] = [];
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource(
            req: RegisterRequest,
            cb: (err: unknown, res?: RegisterResponse) => void,
        ): void;
    };
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) =>
        original(req, (err, res) => {
            if (!err && res) {
                recorded.push({
                    urn: res.getUrn(),
                    custom: req.getCustom(),
                    id: req.getCustom() ? res.getId() : undefined,
                    type: req.getType(),
                    inputs: req.getObject()?.toJavaScript() ?? {},
                    outputs: res.getObject()?.toJavaScript() ?? {},
                    parent: req.getParent() || undefined,
                    protect: req.getProtect() === true,
                    retainOnDelete: req.getRetainondelete?.() === true,
                    dependencies: req.getDependenciesList(),
                });
            }
            cb(err, res);
        });

    const cwd = process.cwd();
    process.chdir(REPO);
    let outputs: Record<string, unknown>;
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = require(path.join(REPO, "index")) as Promise<Record<string, unknown>>;
        outputs = await resolveDeep(await program);
        // Let the last registrations' callbacks run.
        await new Promise((r) => setTimeout(r, 50));
    } finally {
        process.chdir(cwd);
    }

    const stackUrn = `urn:pulumi:${stack}::${project}::pulumi:pulumi:Stack::${project}-${stack}`;
    // One default provider per package, as the engine records them.
    const providerVersions: Record<string, string> = {
        openstack: "3.15.2",
        random: "4.21.2",
        command: "1.2.1",
    };
    const providers = Object.entries(providerVersions).map(([pkg, version]) => ({
        urn: `urn:pulumi:${stack}::${project}::pulumi:providers:${pkg}::default_${version.replace(/\./g, "_")}`,
        custom: true,
        id: uuidFrom(`${stack}/provider/${pkg}`),
        type: `pulumi:providers:${pkg}`,
        inputs: { version },
        outputs: { version },
    }));
    const providerOf = (type: string): string | undefined => {
        const p = providers.find((x) => x.type === `pulumi:providers:${type.split(":")[0]}`);
        return p ? `${p.urn}::${p.id}` : undefined;
    };
    const resources: ExportedResource[] = [
        { urn: stackUrn, custom: false, type: "pulumi:pulumi:Stack", outputs },
        ...providers,
        ...recorded
            .filter((r) => r.type !== "pulumi:pulumi:StackReference")
            .map((r) => ({
                ...r,
                // Top-level resources are the Stack's children; it is not part of their URNs.
                parent: r.parent ?? stackUrn,
                provider: r.custom ? providerOf(r.type) : undefined,
                inputs: stripUnknowns(r.inputs, secrets),
                outputs: stripUnknowns(r.outputs, secrets),
            })),
    ];
    return {
        version: 3,
        deployment: {
            manifest: { time: "2026-11-20T14:02:11.000Z", magic: "mock", version: "v3.248.0" },
            secrets_providers: { type: "passphrase", state: { salt: "v1:mock:salt" } },
            resources,
        },
    };
}

/** How the SDK serialises a value unknown during preview. */
const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The SDK's marker of a secret value; an export holds its ciphertext, never the value. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Unknown values (preview) have no place in an export; secrets appear encrypted. */
function stripUnknowns(
    value: Record<string, unknown> | undefined,
    secrets: "mock-ciphertext" | "plaintext",
): Record<string, unknown> | undefined {
    if (value === undefined) return undefined;
    const secret = (v: { value?: unknown }): Record<string, string> =>
        secrets === "plaintext"
            ? { [SECRET_SIG]: SECRET_SIG_VALUE, plaintext: JSON.stringify(v.value ?? null) }
            : {
                  [SECRET_SIG]: SECRET_SIG_VALUE,
                  ciphertext: `v1:mock:${crypto.createHash("sha256").update(JSON.stringify(v)).digest("base64")}`,
              };
    const text = JSON.stringify(value, (_k, v: unknown) =>
        v === UNKNOWN_SENTINEL
            ? undefined
            : typeof v === "object" && v !== null && SECRET_SIG in v
              ? secret(v as { value?: unknown })
              : v,
    );
    return JSON.parse(text) as Record<string, unknown>;
}

async function resolveDeep(value: unknown): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
        pulumi.output(value as pulumi.Input<Record<string, unknown>>).apply((v) => {
            resolve(v as Record<string, unknown>);
            return v;
        });
    });
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getProtect(): boolean | undefined;
    getRetainondelete?(): boolean | undefined;
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
    getDependenciesList(): string[];
}

interface RegisterResponse {
    getUrn(): string;
    getId(): string;
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}
