/**
 * The program: config → private network → role VMs → outputs, as one function. index.ts runs it
 * under the CLI (`pulumi up`); tools/engine/run.ts runs the same function as an Automation API
 * inline program. No raw openstack.* calls here; the mechanics live in components/.
 */
import * as pulumi from "@pulumi/pulumi";
import { RunError } from "@pulumi/pulumi/errors";
import * as random from "@pulumi/random";
import {
    ConfigError,
    deployedSettingsOf,
    hostKeyRoles,
    loadStackConfig,
    replacementProblems,
    shrinkProblems,
} from "./config";
import { RoleDay2 } from "./components/day2";
import {
    BASTION_SSH,
    cloudDataVolumeSizes,
    deployedDataVolumeSizes,
    deployedBastion,
    deployedRoles,
    deployedSettings,
    tcpProblem,
} from "./components/deployed";
import { HostKey, hostKeyFromSeed } from "./components/hostKey";
import { imageId } from "./components/image";
import { instanceName } from "./components/naming";
import { cloudQuotaProblems, formatCloudQuotaTable, readCloudQuota } from "./components/cloudQuota";
import { endpoints, researcherSshConfig, sshConfig } from "./components/outputs";
import { MONITORING_QUOTA_NOTE } from "./components/monitoring";
import { PrivateNetwork } from "./components/privateNetwork";
import { ROLES, ROLE_NAMES, RoleName, clientRoles, publicRole } from "./components/roles";
import { RoleUserData, RoleVm } from "./components/roleVm";

export async function program(): Promise<Record<string, unknown>> {
    // Everything is validated before the first resource is registered: nothing is half-created.
    const { config: cfg, quota, secrets } = loadStackConfig();
    // The cloud's real quota, where it can be read: the stacks must fit what it grants.
    const cloud = await readCloudQuota();
    if (cloud) {
        const stacks = quota.columns.map((c) => c.name);
        const { errors, warnings } = cloudQuotaProblems(quota.total, cfg.allocation, cloud, stacks);
        if (errors.length > 0) throw new ConfigError(cfg.stack, errors);
        for (const w of warnings) void pulumi.log.warn(w);
    }
    const before = await deployedSettings();
    const shrink = [
        ...shrinkProblems(cfg, await deployedDataVolumeSizes(), await cloudDataVolumeSizes()),
        ...replacementProblems(cfg, before),
    ];
    if (shrink.length > 0) throw new ConfigError(cfg.stack, shrink);
    const hostKeys = hostKeyRoles(cfg, {
        deployedRoles: await deployedRoles(),
        pinned: before.pinnedHostKeys ?? [],
    });
    for (const role of hostKeys.legacy) {
        void pulumi.log.warn(
            `${instanceName(cfg.stack, role)} was deployed before host keys were pinned: its day-2 SSH does not verify the host. Rebuild it on purpose (back up, then list ${role} in ouvroir:rebuild for one up) to pin its key (docs/security.md).`,
        );
    }
    // CI fails fast: an `up` whose day-2 steps cannot reach the bastion would change the cloud
    // and then fail at the first SSH step. Checked before any resource, on `up` only (a preview
    // never connects), once the stack has a bastion.
    const bastion = cfg.day2 && !pulumi.runtime.isDryRun() ? await deployedBastion() : undefined;
    const unreachable = bastion
        ? await tcpProblem(bastion, BASTION_SSH.port, BASTION_SSH.timeoutMs)
        : undefined;
    if (bastion && unreachable)
        throw new RunError(
            `this machine cannot reach the bastion ${bastion}:${BASTION_SSH.port} (${unreachable}): the day-2 steps would fail after the cloud resources changed, so nothing was done. Run \`pulumi up\` from a network in ouvroir:adminCidrs (in CI: the self-hosted runner of DEPLOY_RUNS_ON, docs/ci.md step 5).`,
        );
    if (cfg.protectData && !cfg.backup) {
        void pulumi.log.warn(
            "ouvroir:backup is not set: this protected stack has no off-site backup (docs/backup.md).",
        );
    }

    if (cfg.protectData && !cfg.alerts) {
        void pulumi.log.warn(
            "ouvroir:alerts is not set: no one is told when a disk fills, a service stops or a backup fails (README, Operating).",
        );
    }

    const deployed = ROLE_NAMES.filter((r) => cfg.roles[r] !== undefined);
    const network = new PrivateNetwork("network", {
        stack: cfg.stack,
        clientRoles: clientRoles(deployed),
        cidr: cfg.privateCidr,
        dnsServers: cfg.dnsServers,
        externalNetwork: cfg.externalNetwork,
        existing: cfg.existingNetwork,
    });
    const image = imageId(cfg.image);
    // Every role knows the others' private addresses (the web server proxies to them; host
    // firewalls accept the roles a port names). Ports exist before instances, so there is no
    // cycle; the address of a role built later is handed over when its VM is constructed.
    const addresses = laterAddresses(deployed);

    const common = (role: RoleName): RoleUserData => ({
        adminUser: cfg.adminUser,
        sshAuthorizedKeys: cfg.sshPublicKeys,
        publicHostname: cfg.publicHostname,
        letsencryptEmail: cfg.letsencryptEmail,
        sites: ROLES[role].takes.includes("sites") ? cfg.sites : [],
        upstreams: {},
        researchers: ROLES[role].takes.includes("researchers") ? cfg.researchers : [],
        ...(ROLES[role].takes.includes("apps")
            ? { apps: cfg.apps, dropAppDatabases: cfg.dropAppDatabases }
            : {}),
        ...(ROLES[role].takes.includes("alerts") && cfg.alerts ? { alerts: cfg.alerts } : {}),
        sqlEngine: cfg.sqlEngine,
        packageSource: cfg.packageSource,
        downloads: cfg.downloads,
    });
    const vm = (role: RoleName, userData: pulumi.Input<RoleUserData>): RoleVm => {
        const rc = cfg.roles[role];
        if (!rc) throw new Error(`role ${role} is not deployed`);
        return new RoleVm(role, ROLES[role], {
            stack: cfg.stack,
            flavor: rc.flavor,
            imageId: image,
            bootVolumeGb: cfg.bootVolumeGb,
            network: {
                networkId: network.networkId,
                subnetId: network.subnetId,
                cidr: network.cidr,
                bastionGroupId: network.bastionGroupId,
                clientGroupIds: network.clientGroupIds,
                routeReady: network.routeReady,
                externalNetworkName: network.externalNetworkName,
            },
            adminCidrs: cfg.adminCidrs,
            researcherCidrs: cfg.researcherCidrs,
            deployedRoles: deployed,
            sqlEngine: cfg.sqlEngine,
            dataVolume: ROLES[role].stateful
                ? {
                      sizeGb: rc.dataVolumeGb,
                      volumeType: rc.dataVolumeType,
                      existingId: rc.existingDataVolumeId,
                  }
                : undefined,
            userData,
            protectData: cfg.protectData,
            rebuild: cfg.rebuild.includes(role),
        });
    };

    // Each VM's SSH host key, pinned by day-2 (components/hostKey.ts): from a secret seed.
    const hostKey: Partial<Record<RoleName, pulumi.Output<HostKey>>> = {};
    for (const role of hostKeys.pinned) {
        const seed = new random.RandomPassword(`${role}-hostKeySeed`, {
            length: 48,
            special: false,
        });
        hostKey[role] = pulumi.secret(
            seed.result.apply((s) => hostKeyFromSeed(s, `${role}@ouvroir`)),
        );
    }
    const vms: Partial<Record<RoleName, RoleVm>> = {};
    for (const role of deployed) {
        vms[role] = vm(
            role,
            pulumi.all([addresses.all(role), hostKey[role]]).apply(([upstreams, key]) => ({
                ...common(role),
                upstreams,
                ...(key ? { sshHostKey: key } : {}),
            })),
        );
        addresses.set(role, (vms[role] as RoleVm).privateIp);
    }
    const pinnedKey = (role: RoleName): pulumi.Output<string> | undefined =>
        hostKey[role]?.apply((k) => k.publicKey);
    // The public role (the web server): the bastion every SSH connection goes through.
    const bastionRole = publicRole();
    const web = vms[bastionRole] as RoleVm;

    const publicIp = web.publicIp ?? pulumi.output("");

    // Day-2: wait for each VM's cloud-init and push what may change later, through the bastion.
    if (cfg.day2) {
        for (const role of deployed) {
            const v = vms[role] as RoleVm;
            new RoleDay2(`${role}-day2`, {
                role,
                instanceId: v.instanceId,
                host: role === bastionRole ? publicIp : v.privateIp,
                bastion: role === bastionRole ? undefined : publicIp,
                hostKey: pinnedKey(role),
                bastionHostKey: role === bastionRole ? undefined : pinnedKey(bastionRole),
                user: cfg.adminUser,
                // Without the secret key, the command provider uses the operator's SSH agent.
                privateKey: secrets?.sshPrivateKey,
                input: v.userDataInput,
                secrets: ROLES[role].apply.secrets(common(role)),
                backup:
                    cfg.backup && secrets?.backupAccessKeyId && secrets.backupSecretAccessKey
                        ? {
                              settings: cfg.backup,
                              accessKeyId: secrets.backupAccessKeyId,
                              secretAccessKey: secrets.backupSecretAccessKey,
                          }
                        : undefined,
                protectData: cfg.protectData,
                ...(ROLES[role].takes.includes("alerts")
                    ? {
                          alertSecrets: {
                              // Written only where a receiver uses it (else: removed).
                              smtpPassword: cfg.alerts?.email?.username
                                  ? secrets?.alertSmtpPassword
                                  : undefined,
                              webhookUrl: cfg.alerts?.webhook
                                  ? secrets?.alertWebhookUrl
                                  : undefined,
                          },
                      }
                    : {}),
            });
        }
    }
    const privateHosts = deployed.map((r) => ({ role: r, vm: vms[r] as RoleVm }));
    const researcherHosts = privateHosts.filter((h) => ROLES[h.role].researcherLogin);
    return {
        endpoints: publicIp.apply((ip) => endpoints(cfg.publicHostname, ip, deployed, cfg.sites)),
        bastion: publicIp,
        privateIps: pulumi.all(
            Object.fromEntries(privateHosts.map((h) => [h.role, h.vm.privateIp])),
        ),
        sshConfig: pulumi
            .all([
                publicIp,
                pulumi.all(
                    privateHosts.filter((h) => h.role !== bastionRole).map((h) => h.vm.privateIp),
                ),
            ])
            .apply(([ip, ips]) =>
                sshConfig(
                    cfg.adminUser,
                    { name: instanceName(cfg.stack, bastionRole), publicIp: ip, role: bastionRole },
                    privateHosts
                        .filter((h) => h.role !== bastionRole)
                        .map((h, i) => ({ name: h.vm.hostname, ip: ips[i] ?? "", role: h.role })),
                ),
            ),
        // Each researcher's lines: their sandbox host through their own jump account.
        researcherSshConfig: pulumi
            .all([publicIp, pulumi.all(researcherHosts.map((h) => h.vm.privateIp))])
            .apply(([ip, ips]) =>
                researcherSshConfig(
                    cfg.researchers.map((r) => r.name),
                    ip,
                    researcherHosts.map((h, i) => ({ name: h.vm.hostname, ip: ips[i] ?? "" })),
                ),
            ),
        // Where this stack's off-site backups go (no secret in it): for runbooks and migration.
        backups: cfg.backup ? { endpoint: cfg.backup.endpoint, bucket: cfg.backup.bucket } : null,
        quota: {
            table: quota.table,
            usage: quota.columns[0]?.usage,
            allocation: cfg.allocation,
            monitoring: MONITORING_QUOTA_NOTE,
            // What the cloud granted and used when this ran (absent: it could not be read).
            cloud: cloud && {
                projectId: cloud.projectId,
                limits: cloud.limits,
                used: cloud.used,
                table: formatCloudQuotaTable(quota.total, cfg.allocation, cloud),
            },
        },
        // What the next preview compares with before it lets a change replace VMs or volumes.
        deployedSettings: deployedSettingsOf(cfg, hostKeys.pinned),
        // Lines for ~/.ssh/known_hosts: the pinned keys by address (public ones are not secret).
        knownHosts: pulumi
            .all(
                hostKeys.pinned.map((role) =>
                    pulumi
                        .all([
                            role === bastionRole ? publicIp : (vms[role] as RoleVm).privateIp,
                            pulumi.unsecret(pinnedKey(role) as pulumi.Output<string>),
                        ])
                        .apply(([ip, key]) => `${ip} ${key}`),
                ),
            )
            .apply((lines) => lines.join("\n") + (lines.length > 0 ? "\n" : "")),
        dataVolumeSizes: Object.fromEntries(
            deployed
                .filter((r) => vms[r]?.dataVolumeGb !== undefined)
                .map((r) => [r, vms[r]?.dataVolumeGb]),
        ),
        // Names too: the shrink guard finds each volume in the cloud by name (deployed.ts).
        dataVolumeNames: pulumi.all(
            Object.fromEntries(
                deployed
                    .filter((r) => vms[r]?.dataVolumeName)
                    .map((r) => [r, vms[r]?.dataVolumeName as pulumi.Output<string>]),
            ),
        ),
        dataVolumeIds: pulumi.all(
            Object.fromEntries(
                deployed
                    .filter((r) => vms[r]?.dataVolumeId)
                    .map((r) => [r, vms[r]?.dataVolumeId as pulumi.Output<string>]),
            ),
        ),
    };
}

/**
 * The private addresses of the deployed roles, usable before each role's VM is constructed:
 * `all(role)` gives the others' addresses as one output that resolves once `set` was called for
 * every role (each role's port, not its instance: no cycle between VMs).
 */
function laterAddresses(deployed: readonly RoleName[]): {
    all(except: RoleName): pulumi.Output<Partial<Record<RoleName, string>>>;
    set(role: RoleName, ip: pulumi.Output<string>): void;
} {
    const waiting = new Map<RoleName, (ip: pulumi.Output<string>) => void>();
    const outputs = new Map<RoleName, pulumi.Output<string>>();
    for (const role of deployed) {
        const promise = new Promise<pulumi.Output<string>>((resolve) => waiting.set(role, resolve));
        outputs.set(role, pulumi.output(promise));
    }
    return {
        all: (except) =>
            pulumi.all(
                Object.fromEntries(
                    deployed
                        .filter((r) => r !== except)
                        .map((r) => [r, outputs.get(r) as pulumi.Output<string>]),
                ),
            ) as pulumi.Output<Partial<Record<RoleName, string>>>,
        set: (role, ip) => waiting.get(role)?.(ip),
    };
}
