/**
 * Role differences as data: what each VM role opens, whether it is public, whether it keeps
 * state on a data volume, the smallest flavor it runs on and its data volume default.
 * Everything that differs between WebServerVM, XmlDatabaseVM, … lives here and only here.
 */

export const ROLE_NAMES = ["web", "xmldb", "iiif", "app", "sandbox"] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/**
 * Where a port may be reached from:
 * - `world`: 0.0.0.0/0 and ::/0 (only 80/443 on the web server, by Alliance policy);
 * - `admin`: the operators' CIDRs from config `ouvroir:adminCidrs` (SSH to the bastion);
 * - `{ roles }`: only the VMs of those roles, by security group (the web server's group is the
 *   network's "bastion" group) and by the host firewall (their private addresses). A port whose
 *   roles are not deployed is closed. Nothing is open to the whole private subnet: it holds the
 *   researchers' sandbox host.
 */
export type PortSource = "world" | "admin" | { readonly roles: readonly RoleName[] };

/** The web server: SSH bastion and reverse proxy. */
export const FROM_WEB: PortSource = { roles: ["web"] };

export interface PortRule {
    /** Becomes part of the security-group rule's name: `${vm}-${name}`. */
    readonly name: string;
    readonly port: number;
    /** Last port of a range; absent for a single port. */
    readonly portMax?: number;
    readonly from: PortSource;
    /** A proxy site may forward to it (an HTTP service the lab publishes as a whole). */
    readonly proxy?: boolean;
}

export interface RoleSpec {
    readonly name: RoleName;
    /** Pulumi type token of the role's component. */
    readonly typeToken: string;
    /** Short name used in hostnames and resource names (`dev-web-1`). */
    readonly short: string;
    readonly description: string;
    /** Only a public role gets a floating IP. Exactly one role is public: the web server. */
    readonly public: boolean;
    /** A stateful role keeps its data on a separate Cinder volume and is never rebuilt by drift. */
    readonly stateful: boolean;
    readonly ports: readonly PortRule[];
    /** The smallest flavor the role's services run on. */
    readonly minVcpus: number;
    readonly minRamGb: number;
    /** Default flavor when the stack does not set one. */
    readonly defaultFlavor: string;
    /** Default size of the data volume, in GB. */
    readonly defaultDataVolumeGb: number;
    /** Where the data volume is mounted in the guest. */
    readonly dataMountPoint: string;
}

const ssh = (from: PortSource): PortRule => ({ name: "ssh", port: 22, from });

export const ROLES: Readonly<Record<RoleName, RoleSpec>> = {
    web: {
        name: "web",
        typeToken: "ouvroir:vm:WebServerVM",
        short: "web",
        description: "Nginx, virtual hosts, TLS; the only public VM and the SSH bastion",
        public: true,
        stateful: true,
        ports: [
            { name: "http", port: 80, from: "world" },
            { name: "https", port: 443, from: "world" },
            ssh("admin"),
        ],
        minVcpus: 1,
        minRamGb: 1.5,
        defaultFlavor: "p2-3gb",
        defaultDataVolumeGb: 20,
        dataMountPoint: "/srv/data",
    },
    xmldb: {
        name: "xmldb",
        typeToken: "ouvroir:vm:XmlDatabaseVM",
        short: "xmldb",
        description: "Java, BaseX (HTTP behind Nginx), Saxon",
        public: false,
        stateful: true,
        ports: [
            ssh(FROM_WEB),
            // RESTXQ apps that a site publishes; never REST or DBA (the web server filters paths).
            { name: "basex-http", port: 8080, from: FROM_WEB },
            // BaseX's client protocol: the lab's apps.
            { name: "basex-server", port: 1984, from: { roles: ["app"] } },
        ],
        minVcpus: 2,
        minRamGb: 3,
        defaultFlavor: "p4-7.5gb",
        defaultDataVolumeGb: 50,
        dataMountPoint: "/srv/data",
    },
    iiif: {
        name: "iiif",
        typeToken: "ouvroir:vm:IiifServerVM",
        short: "iiif",
        description: "Cantaloupe IIIF image server; images and derivative cache on the volume",
        public: false,
        stateful: true,
        ports: [ssh(FROM_WEB), { name: "cantaloupe", port: 8182, from: FROM_WEB, proxy: true }],
        minVcpus: 2,
        minRamGb: 3,
        defaultFlavor: "p4-7.5gb",
        defaultDataVolumeGb: 200,
        dataMountPoint: "/srv/data",
    },
    app: {
        name: "app",
        typeToken: "ouvroir:vm:AppServerVM",
        short: "app",
        description: "Python, Node.js, Julia runtimes for lab apps, and the SQL database",
        public: false,
        stateful: true,
        ports: [
            ssh(FROM_WEB),
            { name: "apps", port: 8000, portMax: 8099, from: FROM_WEB, proxy: true },
            // The SQL server: PHP sites on the web server (the apps beside it connect locally).
            { name: "sql", port: 3306, from: FROM_WEB },
        ],
        minVcpus: 2,
        minRamGb: 3,
        defaultFlavor: "p4-7.5gb",
        defaultDataVolumeGb: 50,
        dataMountPoint: "/srv/data",
    },
    sandbox: {
        name: "sandbox",
        typeToken: "ouvroir:vm:SandboxHost",
        short: "sandbox",
        description: "Rootless Docker sandboxes for researchers",
        public: false,
        stateful: true,
        ports: [
            ssh(FROM_WEB),
            { name: "sandbox-web", port: 8100, portMax: 8199, from: FROM_WEB, proxy: true },
        ],
        minVcpus: 2,
        minRamGb: 3,
        defaultFlavor: "p2-3.75gb",
        defaultDataVolumeGb: 100,
        dataMountPoint: "/srv/data",
    },
};

export function isRoleName(value: string): value is RoleName {
    return (ROLE_NAMES as readonly string[]).includes(value);
}

/** The SQL server's port per engine: the app role's `sql` rule opens this one. */
export const SQL_PORTS = { mariadb: 3306, postgresql: 5432 } as const;

/** A role's ports for the chosen SQL engine (only the app role's `sql` rule depends on it). */
export function rolePorts(spec: RoleSpec, sqlEngine: keyof typeof SQL_PORTS): readonly PortRule[] {
    return spec.ports.map((p) => (p.name === "sql" ? { ...p, port: SQL_PORTS[sqlEngine] } : p));
}

/** Pure: the roles a rule accepts (none for `world` and `admin`, which are CIDRs). */
export function sourceRoles(rule: PortRule): readonly RoleName[] {
    return typeof rule.from === "object" ? rule.from.roles : [];
}

/** Pure: the ports of a role a proxy site may forward to (marked `proxy`, open to the web server). */
export function proxiedPorts(role: RoleName): PortRule[] {
    return ROLES[role].ports.filter((p) => p.proxy === true && sourceRoles(p).includes("web"));
}

/**
 * Pure: the roles, other than the web server, whose VMs other roles accept traffic from: each
 * gets a member security group in the private network (the web server's is the bastion group).
 */
export function clientRoles(deployed: readonly RoleName[]): RoleName[] {
    const out = new Set<RoleName>();
    for (const role of deployed) {
        for (const rule of ROLES[role].ports) {
            for (const r of sourceRoles(rule)) if (r !== "web" && deployed.includes(r)) out.add(r);
        }
    }
    return ROLE_NAMES.filter((r) => out.has(r));
}
