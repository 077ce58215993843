/**
 * Day-2: what changes after a VM exists (packages, files, sites, accounts, keys, secrets) is
 * pushed over SSH through the bastion, never by rebuilding the VM. The push runs the role's
 * applier (applier.ts), the very script cloud-init ran at first boot, rendered from the current
 * input: first boot and day-2 cannot diverge, and what the program pushes is what the VM tests
 * prove.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHash } from "crypto";
import { APPLIER_PATH, renderApplier } from "./applier";
import { BackupSecrets, BackupSettings, renderBackupSetup } from "./backup";
import { AlertSecrets, renderAlertSecretsSetup } from "./monitoring";
import { PUT_FUNCTION, putFile, shellWord as q } from "./escape";
import { RoleName, ROLES } from "./roles";
import type { SecretFile } from "./roles/types";
import { UserDataInput, buildCloudConfig } from "./userData";

/**
 * Pure: the day-2 script of a role for an input and its secrets: the secrets (0600, root), then
 * the role's applier written to the VM and run (the same script cloud-init ran at first boot,
 * rendered from the current input), then the backup setup. Idempotent: re-running it with the
 * same input changes nothing; a removed site's vhost is removed.
 */
export function renderDay2Script(
    input: UserDataInput,
    secrets: Readonly<Record<string, string>> = {},
    backup?: { readonly settings: BackupSettings; readonly secrets: BackupSecrets },
    alertSecrets: AlertSecrets = {},
): string {
    const applier = renderApplier(input, buildCloudConfig(input));
    const lines = [
        "#!/bin/bash",
        `# ouvroir day-2 for ${input.hostname} (${input.role}): rendered by components/day2.ts`,
        "set -euo pipefail",
        "umask 022",
        PUT_FUNCTION,
    ];
    for (const s of ROLES[input.role].apply.secrets(input)) {
        const value = secrets[s.name];
        if (value === undefined)
            throw new Error(`day-2 of ${input.role}: secret ${s.name} missing`);
        lines.push(putFile(s.path, "0600", value, true));
    }
    lines.push(putFile(APPLIER_PATH, "0700", applier), q(APPLIER_PATH));
    if (backup && ROLES[input.role].stateful) {
        lines.push(
            renderBackupSetup(
                input.role,
                input.hostname,
                backup.settings,
                backup.secrets,
                input.downloads.restic,
            ).trimEnd(),
        );
    }
    // The monitoring host: the alert receivers' secrets (none set: stale ones removed).
    if (ROLES[input.role].takes.includes("alerts"))
        lines.push(renderAlertSecretsSetup(alertSecrets).trimEnd());
    lines.push(`echo "ouvroir day-2: ${input.role} applied"`);
    return lines.join("\n") + "\n";
}

/** The command that waits for cloud-init and, on failure, prints the guest's log and fails. */
export const WAIT_FOR_CLOUD_INIT =
    "cloud-init status --wait --long >/tmp/ouvroir-cloud-init.status 2>&1 || " +
    "{ cat /tmp/ouvroir-cloud-init.status; sudo tail -n 80 /var/log/cloud-init-output.log; exit 1; }; " +
    "cat /tmp/ouvroir-cloud-init.status";

export interface RoleDay2Args {
    readonly role: RoleName;
    /** The VM's instance id: a new VM runs every step again. */
    readonly instanceId: pulumi.Input<string>;
    /** The VM's address as seen from the bastion (its private IP), or the bastion's public IP for the web server. */
    readonly host: pulumi.Input<string>;
    /** The bastion's public IP; absent for the web server itself. */
    readonly bastion?: pulumi.Input<string>;
    /** The VM's pinned host key (`ssh-ed25519 …`); absent: not verified (a VM that predates pinning). */
    readonly hostKey?: pulumi.Input<string>;
    /** The bastion's pinned host key. */
    readonly bastionHostKey?: pulumi.Input<string>;
    readonly user: string;
    /** Operator's private key (secret); absent: the operator's SSH agent (SSH_AUTH_SOCK). */
    readonly privateKey?: pulumi.Input<string>;
    /** The role's full user-data input: day-2 renders its mutable part from it. */
    readonly input: pulumi.Input<UserDataInput>;
    /**
     * The secrets day-2 generates and writes (the role spec's `apply.secrets` of the input's
     * plain settings, known before the input resolves: one random resource each).
     */
    readonly secrets: readonly SecretFile[];
    /** Off-site backups (stateful roles): settings and the bucket's keys (secrets). */
    readonly backup?: {
        readonly settings: BackupSettings;
        readonly accessKeyId: pulumi.Input<string>;
        readonly secretAccessKey: pulumi.Input<string>;
    };
    /** The monitoring host: the alert receivers' secrets (config secrets, as Outputs). */
    readonly alertSecrets?: {
        readonly smtpPassword?: pulumi.Input<string>;
        readonly webhookUrl?: pulumi.Input<string>;
    };
    /**
     * Protect the generated secrets that data depends on (the restic password: without it the
     * backups cannot be read). Default: true.
     */
    readonly protectData?: boolean;
}

/**
 * Waits for a VM's cloud-init through the bastion, then pushes the role's day-2 script; re-runs
 * the push only when its rendered content (or the VM) changes.
 */
export class RoleDay2 extends pulumi.ComponentResource {
    public readonly applied: pulumi.Output<string>;

    constructor(name: string, args: RoleDay2Args, opts?: pulumi.ComponentResourceOptions) {
        super("ouvroir:day2:RoleDay2", name, {}, opts);
        const parent = { parent: this };
        const auth = {
            user: args.user,
            ...(args.privateKey !== undefined ? { privateKey: args.privateKey } : {}),
        };
        const connection = {
            host: args.host,
            ...auth,
            ...(args.hostKey !== undefined ? { hostKey: args.hostKey } : {}),
            dialErrorLimit: 60,
            perDialTimeout: 10,
            ...(args.bastion !== undefined
                ? {
                      proxy: {
                          host: args.bastion,
                          ...auth,
                          ...(args.bastionHostKey !== undefined
                              ? { hostKey: args.bastionHostKey }
                              : {}),
                          dialErrorLimit: 60,
                          perDialTimeout: 10,
                      },
                  }
                : {}),
        };
        const secrets: Record<string, pulumi.Output<string>> = {};
        for (const s of args.secrets) {
            secrets[s.name] = new random.RandomPassword(
                `${name}-${s.name}`,
                { length: 32, special: false },
                parent,
            ).result;
        }
        const ready = new command.remote.Command(
            `${name}-ready`,
            { connection, create: WAIT_FOR_CLOUD_INIT, triggers: [args.instanceId] },
            parent,
        );
        let backup: pulumi.Output<
            { settings: BackupSettings; secrets: BackupSecrets } | undefined
        > = pulumi.output(undefined);
        if (args.backup && ROLES[args.role].stateful) {
            const settings = args.backup.settings;
            const resticPassword = new random.RandomPassword(
                `${name}-resticPassword`,
                { length: 40, special: false },
                {
                    ...parent,
                    protect: args.protectData ?? true,
                    retainOnDelete: args.protectData ?? true,
                },
            ).result;
            backup = pulumi
                .all([args.backup.accessKeyId, args.backup.secretAccessKey, resticPassword])
                .apply(([accessKeyId, secretAccessKey, password]) => ({
                    settings,
                    secrets: { accessKeyId, secretAccessKey, resticPassword: password },
                }));
        }
        const alertSecrets = pulumi.output({
            smtpPassword: args.alertSecrets?.smtpPassword,
            webhookUrl: args.alertSecrets?.webhookUrl,
        });
        const script = pulumi
            .all([pulumi.output(args.input), pulumi.all(secrets), backup, alertSecrets])
            .apply(([input, values, b, a]) =>
                renderDay2Script(input as UserDataInput, values, b, {
                    ...(a.smtpPassword !== undefined ? { smtpPassword: a.smtpPassword } : {}),
                    ...(a.webhookUrl !== undefined ? { webhookUrl: a.webhookUrl } : {}),
                }),
            );
        const apply = new command.remote.Command(
            `${name}-apply`,
            {
                connection,
                create: "sudo bash -s",
                stdin: pulumi.secret(script),
                // The hash, not the script, decides re-runs: it changes exactly when the content does.
                triggers: [
                    args.instanceId,
                    script.apply((s) => createHash("sha256").update(s).digest("hex")),
                ],
            },
            { ...parent, dependsOn: [ready] },
        );
        this.applied = apply.stdout;
        this.registerOutputs({ applied: this.applied });
    }
}
