/**
 * The configuration as one table: every `ouvroir:*` key with its type, default, description and
 * what a change after deployment does. Pulumi.yaml's `config:` block and the README's settings
 * table are generated from it (`npm run config:docs`; tests/unit/configTable.test.ts fails when
 * they drift). Each key's check is its entry in parse.ts's CHECKS (the same keys; a missing one
 * does not compile), run in this table's order at preview; each problem names its key.
 */
import { ROLE_NAMES } from "../components/roles";

/** The persistent RAS allocation without a RAC request (cloud-facts.md). */
export const RAS_ALLOCATION = {
    instances: 10,
    vcpus: 25,
    ramGb: 50,
    volumes: 10,
    volumeGb: 10240,
    floatingIps: 2,
    // Not stated by the Alliance: OpenStack's default per-project quota.
    securityGroups: 10,
};

/**
 * What changing a key does to a deployed stack:
 * - `in place`: applied to the running resources; `step` says how (day-2's applier, an
 *   OpenStack update) and nothing is replaced;
 * - `rebuild`: only new VMs take it; the preview refuses the change unless `ouvroir:rebuild`
 *   lists the roles it needs, and that `up` rebuilds them (data volumes kept);
 * - `refused`: the preview refuses it, with the way to do it by hand;
 * - `none`: it changes no resource by itself (program settings, quota figures).
 */
export type AfterDeploy =
    | { readonly effect: "in place"; readonly step: string }
    | { readonly effect: "rebuild"; readonly step: string }
    | { readonly effect: "refused"; readonly step: string }
    | { readonly effect: "none"; readonly step: string };

export interface KeySpec {
    readonly type: "string" | "integer" | "boolean" | "array" | "object";
    /** For arrays: the type of the items (Pulumi.yaml). */
    readonly items?: "string" | "object";
    readonly default: unknown;
    /** What the key is, for Pulumi.yaml (one paragraph). */
    readonly description: string;
    /** The default as the README's table says it. */
    readonly readmeDefault: string;
    readonly afterDeploy: AfterDeploy;
    /** A secret: `pulumi config set --secret`, never a default, read as an Output. */
    readonly secret?: boolean;
}

const DAY2 = "day-2's applier";

export const KEYS = {
    externalNetwork: {
        type: "string",
        default: "",
        description:
            "Name of the external network floating IPs and the router use. Empty: the cloud's one network with router:external.",
        readmeDefault: '"" (the one network with `router:external`)',
        afterDeploy: {
            effect: "rebuild",
            step: "replaces the router, the floating IP (new public address) and the VMs: refused unless `rebuild` lists every role",
        },
    },
    existingNetwork: {
        type: "object",
        default: {},
        description:
            "{networkId, subnetId} of the project's existing network to use instead of creating one; {} creates network, subnet and router.",
        readmeDefault: "`{}` (create network, subnet, router)",
        afterDeploy: {
            effect: "rebuild",
            step: "replaces every port and VM (data volumes survive): refused unless `rebuild` lists every role",
        },
    },
    privateCidr: {
        type: "string",
        default: "10.20.0.0/24",
        description: "CIDR of the stack's private subnet.",
        readmeDefault: "`10.20.0.0/24`",
        afterDeploy: {
            effect: "rebuild",
            step: "replaces subnet, ports and VMs (data volumes survive): refused unless `rebuild` lists every role",
        },
    },
    dnsServers: {
        type: "array",
        items: "string",
        default: ["1.1.1.1", "8.8.8.8"],
        description: "DNS servers handed out on the private subnet.",
        readmeDefault: "`[1.1.1.1, 8.8.8.8]`",
        afterDeploy: {
            effect: "in place",
            step: "the subnet is updated; VMs see them at their next DHCP renewal",
        },
    },
    adminCidrs: {
        type: "array",
        items: "string",
        default: [],
        description:
            "Networks allowed to SSH to the web server (the bastion). No 0.0.0.0/0 in a protected stack.",
        readmeDefault: "`[]` (required in a protected stack; never `0.0.0.0/0` there)",
        afterDeploy: { effect: "in place", step: "security-group rules added or removed" },
    },
    researcherCidrs: {
        type: "array",
        items: "string",
        default: [],
        description:
            "Networks the researchers SSH from, to their jump-only account on the bastion (forwarding to the sandbox host's SSH only, no shell); separate from adminCidrs. No 0.0.0.0/0 in a protected stack.",
        readmeDefault: "`[]` (researchers then log in only from adminCidrs)",
        afterDeploy: { effect: "in place", step: "security-group rules added or removed" },
    },
    sshPublicKeys: {
        type: "array",
        items: "string",
        default: [],
        description: "Operators' OpenSSH public keys, installed for adminUser on every VM.",
        readmeDefault: "`[]` (required)",
        afterDeploy: {
            effect: "in place",
            step: `${DAY2} replaces adminUser's authorized_keys on every VM (a key removed stops working)`,
        },
    },
    sshPrivateKey: {
        type: "string",
        default: undefined,
        secret: true,
        description:
            "The private key day-2 logs in with (a secret); unset: the operator's SSH agent.",
        readmeDefault: "unset: your SSH agent",
        afterDeploy: { effect: "none", step: "how day-2 logs in from then on" },
    },
    adminUser: {
        type: "string",
        default: "debian",
        description: "The image's login user, made the operators' sudo account by cloud-init.",
        readmeDefault: "`debian`",
        afterDeploy: {
            effect: "rebuild",
            step: "cloud-init makes it at first boot and day-2 logs in as it: refused unless `rebuild` lists every role",
        },
    },
    image: {
        type: "object",
        default: { namePattern: "^Debian-13.*x64" },
        description:
            "{id?, name?, namePattern}: the image to boot; default the newest image matching namePattern.",
        readmeDefault:
            "newest image matching `^Debian-13.*x64` (Debian 12: `^Debian-12.*x64`, see [Debian releases](#debian-releases))",
        afterDeploy: {
            effect: "rebuild",
            step: "running VMs keep their image; the roles listed in `rebuild` take the new one",
        },
    },
    bootVolumeGb: {
        type: "integer",
        default: 20,
        description: "Size of each VM's boot volume (p flavors have no root disk).",
        readmeDefault: "20",
        afterDeploy: { effect: "rebuild", step: "new VMs only (those `rebuild` lists)" },
    },
    volumeTypes: {
        type: "array",
        items: "string",
        default: ["volumes-ssd", "volumes-ec"],
        description: "Volume types of the cloud; the first is the default for data volumes.",
        readmeDefault: "`[volumes-ssd, volumes-ec]`; the first is the default",
        afterDeploy: { effect: "none", step: "none by itself" },
    },
    flavors: {
        type: "object",
        default: {},
        description:
            "Sizes {vcpus, ramGb} of flavors whose names do not follow the Alliance p<vCPU>-<RAM>gb scheme.",
        readmeDefault: "`{}`",
        afterDeploy: { effect: "none", step: "sizes of flavors not named `p<vCPU>-<RAM>gb`" },
    },
    roles: {
        type: "object",
        default: Object.fromEntries(ROLE_NAMES.map((r) => [r, {}])),
        description: `Deployed roles (${ROLE_NAMES.join(", ")}) with {flavor, dataVolumeGb, dataVolumeType, existingDataVolumeId}; a role absent is not deployed.`,
        readmeDefault: "all five with defaults",
        afterDeploy: {
            effect: "in place",
            step: "`flavor`: the VM resized (reboot); `dataVolumeGb`: grown online, never shrunk (refused); `dataVolumeType`: replaces the volume, destroying its data: refused unless `rebuild` lists the role (and, in prod, protection refuses it too); `existingDataVolumeId`: adopts (imports) a volume instead of creating one; a role added: created; a deployed role removed: refused",
        },
    },
    publicHostname: {
        type: "string",
        default: "",
        description:
            "Public DNS name of the main site (TLS certificate, IIIF ids). Empty: the floating IP, with a certificate naming the instance.",
        readmeDefault: '"" (the floating IP)',
        afterDeploy: {
            effect: "in place",
            step: `${DAY2}: the default vhost and settings rewritten, a certificate for the new name (self-signed, then Let's Encrypt)`,
        },
    },
    letsencryptEmail: {
        type: "string",
        default: "",
        description: "E-mail for Let's Encrypt; empty keeps self-signed certificates.",
        readmeDefault: '"" (self-signed only)',
        afterDeploy: {
            effect: "in place",
            step: `${DAY2}: settings rewritten and certbot run at once (its daily timer retries)`,
        },
    },
    sites: {
        type: "array",
        items: "object",
        default: [],
        description:
            "Virtual hosts on the web server: {name, domains, kind: static|proxy|php|restxq, upstreamRole?, upstreamPort? (proxy), paths? (restxq: the RESTXQ path prefixes published, never /rest or /dba)}.",
        readmeDefault: "`[]`",
        afterDeploy: {
            effect: "in place",
            step: `${DAY2}: vhosts written (a removed site's vhost removed, its files kept), PHP installed with the first \`php\` site, certificates asked, Nginx reloaded. Kinds: \`static\`, \`php\`, \`proxy\` (\`upstreamRole\`, \`upstreamPort\`: a port the role opens to proxies), \`restxq\` (\`paths\`: the RESTXQ prefixes BaseX publishes; never \`/\`, \`/rest/\`, \`/dba/\`)`,
        },
    },
    researchers: {
        type: "array",
        items: "object",
        default: [],
        description: "Sandbox accounts: {name, sshPublicKeys, cpuPercent, memoryMiB}.",
        readmeDefault: "`[]`",
        afterDeploy: {
            effect: "in place",
            step: `${DAY2}: accounts created or updated; one removed is locked, its files kept`,
        },
    },
    apps: {
        type: "array",
        items: "object",
        default: [],
        description:
            "Lab apps on the app server: {name, port (8003-8099, unique), database? (default true)}. Each gets /srv/data/apps/<name>/app.env (0600, root; systemd hands it to the app): PORT, and with a database DATABASE_URL and DB_* for its own database and user, whose password is a Pulumi secret.",
        readmeDefault: "`[]`",
        afterDeploy: {
            effect: "in place",
            step: `${DAY2}: databases, users and env files created or updated; an app taken out keeps its database (its user may no longer log in) until \`dropAppDatabases\` names it`,
        },
    },
    dropAppDatabases: {
        type: "array",
        items: "string",
        default: [],
        description:
            "Databases to drop, of apps already taken out of apps: the second of the two asks that delete an app's data (take it out of this list again after the up).",
        readmeDefault: "`[]`",
        afterDeploy: {
            effect: "in place",
            step: `${DAY2}: each listed app's database and user dropped (a backup keeps the last dump)`,
        },
    },
    sqlEngine: {
        type: "string",
        default: "postgresql",
        description:
            "postgresql (default, the apps' databases) or mariadb (for WordPress/Omeka S sites).",
        readmeDefault: "`postgresql`",
        afterDeploy: {
            effect: "rebuild",
            step: "the new engine starts empty (nothing is converted): refused unless `rebuild` lists `app`; dump first and restore by hand",
        },
    },
    packageSource: {
        type: "string",
        default: "upstream",
        description:
            "upstream: Cantaloupe, BaseX >= 10, Julia from the downloads URLs; debian: Debian's packages where one exists (the test harness's overlay: docs/architecture.md).",
        readmeDefault: "`upstream`",
        afterDeploy: {
            effect: "rebuild",
            step: "`debian` is for the test harness; new VMs only",
        },
    },
    downloads: {
        type: "object",
        default: {
            cantaloupe: {
                version: "5.0.7",
                url: "https://github.com/cantaloupe-project/cantaloupe/releases/download/v5.0.7/cantaloupe-5.0.7.zip",
                // As pinned by public builds of this release; a wrong value fails the install, never skips it.
                sha256: "741ddee3f5284b179cd2555dc545a8afcb02534f03896cfa9235249fd66b0665",
            },
            basex: {
                // The newest release with a published checksum found (README "Versions"): BaseX 13
                // could not be verified.
                version: "12.4",
                url: "https://files.basex.org/releases/12.4/BaseX124.zip",
                // As pinned by Homebrew's basex formula for 12.4.
                sha256: "a88680cb4e55e49519f98bae7ac15e702bdda42628666d3f756167227a47bca1",
            },
            julia: {
                // The current stable line (1.11 is end of life; README "Versions" says why not 1.10 LTS).
                version: "1.12.7",
                url: "https://julialang-s3.julialang.org/bin/linux/x64/1.12/julia-1.12.7-linux-x86_64.tar.gz",
                // As pinned by the official Julia container images (docker-library/julia) for 1.12.7.
                sha256: "4e7e9e776634d24835250de67cde39b0d4af15bc432eb20697e6be6c28ea69e8",
            },
            saxon: {
                version: "12.9",
                url: "https://repo1.maven.org/maven2/net/sf/saxon/Saxon-HE/12.9/Saxon-HE-12.9.jar",
                // Computed here from Maven Central (its .sha1 matched).
                sha256: "8f3a9216a537367132293eacbba9df062eace8f8b16a184af59e2e4839d4cd41",
            },
        },
        description:
            "Per download {version, url, sha256} overriding the defaults (a mirror may serve them); sha256 is required for packageSource upstream. restic: unset, Debian's package; set, restic's own .bz2 (sha256 required).",
        readmeDefault:
            "Cantaloupe 5.0.7, BaseX 12.4, Julia 1.12.7, Saxon-HE 12.9, each `{version, url, sha256}` ([Versions](#versions))",
        afterDeploy: {
            effect: "in place",
            step: `${DAY2}: a new version is fetched (SHA-256 checked) and installed beside the old one, the service restarted on it; a mirror may serve the same bytes`,
        },
    },
    protectData: {
        type: "boolean",
        default: true,
        description:
            "Protect and retain data volumes and the floating IP: Pulumi refuses to delete or replace them, and a destroy leaves them in the cloud.",
        readmeDefault: "`true` (dev sets `false`)",
        afterDeploy: { effect: "in place", step: "changes only the resource options" },
    },
    rebuild: {
        type: "array",
        items: "string",
        default: [],
        description:
            "Roles to rebuild on purpose on the next up: their VM takes the current template and image (data volume kept). Remove after the up.",
        readmeDefault: "`[]`",
        afterDeploy: {
            effect: "rebuild",
            step: "the listed roles' VMs are replaced, their data volumes kept",
        },
    },
    allocation: {
        type: "object",
        default: RAS_ALLOCATION,
        description:
            "The project's allocation {instances, vcpus, ramGb, volumes, volumeGb, floatingIps, securityGroups}; the preview fails over it. Raise it once the Alliance grants more.",
        readmeDefault:
            "RAS: 10 instances, 25 vCPU, 50 GB, 10 volumes, 10240 GB, 2 floating IPs, 10 security groups",
        afterDeploy: { effect: "none", step: "none; previews fail above it" },
    },
    sharesAllocationWith: {
        type: "array",
        items: "string",
        default: [],
        description:
            "Other stacks of the same OpenStack project whose Pulumi.<stack>.yaml counts against the same allocation.",
        readmeDefault: "`[]`",
        afterDeploy: {
            effect: "none",
            step: "none; counts those stacks' files in the quota check",
        },
    },
    day2: {
        type: "boolean",
        default: true,
        description:
            "Run the day-2 steps over SSH through the bastion (wait for cloud-init, run the applier with the secrets). false only for the local fake-hypervisor cloud (the test harness's overlay: docs/architecture.md).",
        readmeDefault: "`true`",
        afterDeploy: {
            effect: "in place",
            step: "`false` only on the local fake-hypervisor cloud: drops the SSH steps, nothing else",
        },
    },
    backup: {
        type: "object",
        default: {},
        description:
            "Off-site backups of every stateful role with restic: {endpoint, bucket, onCalendar, keepDaily, keepWeekly, keepMonthly}; {} for none. Needs the secrets backupAccessKeyId and backupSecretAccessKey.",
        readmeDefault: "`{}` (none; prod sets Arbutus object storage)",
        afterDeploy: {
            effect: "in place",
            step: "day-2 installs and schedules restic on every stateful role ([docs/backup.md](docs/backup.md))",
        },
    },
    backupAccessKeyId: {
        type: "string",
        default: undefined,
        secret: true,
        description: "The backup bucket's access key (a secret; required with backup).",
        readmeDefault: "unset (required with `backup`)",
        afterDeploy: {
            effect: "in place",
            step: "day-2 writes it into a 0600 file; never in user data",
        },
    },
    backupSecretAccessKey: {
        type: "string",
        default: undefined,
        secret: true,
        description: "The backup bucket's secret key (a secret; required with backup).",
        readmeDefault: "unset (required with `backup`)",
        afterDeploy: {
            effect: "in place",
            step: "day-2 writes it into a 0600 file; never in user data",
        },
    },
    alerts: {
        type: "object",
        default: {},
        description:
            "Who the alerts reach (components/monitoring.ts): {email: {to, from, smarthost, username, requireTls}, webhook}; {} for nobody (Alertmanager's UI only, through the bastion's tunnel). e-mail goes through the lab's SMTP relay (the Alliance forbids running a mail server); the relay's password and the webhook's URL are the secrets alertSmtpPassword and alertWebhookUrl.",
        readmeDefault: "`{}` (nobody: the preview warns on a protected stack)",
        afterDeploy: {
            effect: "in place",
            step: "day-2's applier rewrites Alertmanager's configuration on the web server and restarts it",
        },
    },
    alertSmtpPassword: {
        type: "string",
        default: undefined,
        secret: true,
        description: "The SMTP relay's password (a secret; required with alerts.email.username).",
        readmeDefault: "unset",
        afterDeploy: {
            effect: "in place",
            step: "day-2 writes it into a 0600 file on the web server, merged at Alertmanager's start; never in user data",
        },
    },
    alertWebhookUrl: {
        type: "string",
        default: undefined,
        secret: true,
        description:
            "The webhook's URL, which often holds a token (a secret; required with alerts.webhook).",
        readmeDefault: "unset",
        afterDeploy: {
            effect: "in place",
            step: "day-2 writes it into a 0600 file on the web server, merged at Alertmanager's start; never in user data",
        },
    },
} satisfies Record<string, KeySpec>;

export type AnyKey = keyof typeof KEYS;
type SecretKey = {
    [K in AnyKey]: (typeof KEYS)[K] extends { secret: true } ? K : never;
}[AnyKey];
export type ConfigKey = Exclude<AnyKey, SecretKey>;

/** Secrets: set with `pulumi config set --secret`, never given a default, read as Outputs. */
export const SECRET_KEYS = (Object.keys(KEYS) as AnyKey[]).filter(
    (k) => (KEYS[k] as KeySpec).secret === true,
) as SecretKey[];
export const CONFIG_KEYS = (Object.keys(KEYS) as AnyKey[]).filter(
    (k) => (KEYS[k] as KeySpec).secret !== true,
) as ConfigKey[];

/** Every key's default, from the table. */
export const DEFAULTS = Object.fromEntries(CONFIG_KEYS.map((k) => [k, KEYS[k].default])) as {
    readonly [K in ConfigKey]: (typeof KEYS)[K]["default"];
};
