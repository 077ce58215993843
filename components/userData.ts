/**
 * User data for every role VM: cloud-init's data files in `cloud-init/` rendered by one pure
 * function into one `#cloud-config` document.
 *
 * CONTRACT (shared by the Pulumi program, the VM tests and `npm run local`): the input below is
 * all a role's user data may depend on. No secrets travel in it: passwords are generated on the
 * VM at first boot or pushed later over SSH (day-2).
 */
import * as YAML from "yaml";
import { RoleName } from "./roles";

export type SiteKind = "static" | "proxy" | "php";

/** One virtual host on the web server. */
export interface Site {
    /** Unique, [a-z0-9-]; names the vhost file and the site's directory. */
    readonly name: string;
    /** Host names served (first one is the canonical name and the certificate's). */
    readonly domains: readonly string[];
    readonly kind: SiteKind;
    /** For `proxy`: the role and port Nginx forwards to (e.g. app:8001). */
    readonly upstreamRole?: RoleName;
    readonly upstreamPort?: number;
}

/** A researcher account on the sandbox host. */
export interface Researcher {
    /** Unix user name, [a-z][a-z0-9-]*. */
    readonly name: string;
    readonly sshPublicKeys: readonly string[];
    /** systemd CPUQuota for the user's slice, in % of one CPU (e.g. 100 = one core). */
    readonly cpuPercent: number;
    /** systemd MemoryMax for the user's slice, in MiB. */
    readonly memoryMiB: number;
}

/** An upstream download that only the cloud can reach; a mirror may serve the same bytes. */
export interface Download {
    readonly version: string;
    readonly url: string;
    readonly sha256: string;
}

export interface UserDataInput {
    readonly role: RoleName;
    /** Host name, also the instance name: `dev-web-1`. */
    readonly hostname: string;
    /** The image's default login user (`debian`). */
    readonly adminUser: string;
    readonly sshAuthorizedKeys: readonly string[];
    /** First 20 characters of the data volume's Cinder id (the guest sees virtio-<serial>); absent: no data volume. */
    readonly dataVolumeSerial?: string;
    /** The stack's private subnet CIDR (host firewall: "from the private subnet"). */
    readonly privateCidr: string;
    /** Public host name of the lab's main site (IIIF ids, default vhost). */
    readonly publicHostname: string;
    /** E-mail for Let's Encrypt; absent: self-signed certificates only. */
    readonly letsencryptEmail?: string;
    /** Web server only: the virtual hosts. */
    readonly sites: readonly Site[];
    /** Web server only: private IPs of the other roles, for the reverse proxy. */
    readonly upstreams: Partial<Record<RoleName, string>>;
    /** Sandbox only: researcher accounts. */
    readonly researchers: readonly Researcher[];
    /** App server: `mariadb` (default) or `postgresql`. */
    readonly sqlEngine: "mariadb" | "postgresql";
    /**
     * `upstream`: Cantaloupe, BaseX ≥ 10, Julia from the URLs below (the cloud);
     * `debian`: Debian's packages where an equivalent exists (basex 9.7, iipimage-server): the VM tests.
     */
    readonly packageSource: "upstream" | "debian";
    readonly downloads: {
        readonly cantaloupe: Download;
        readonly basex: Download;
        readonly julia: Download;
        readonly saxon: Download;
    };
}

/** Placeholder until the role templates land: a minimal valid document. */
export function renderUserData(input: UserDataInput): string {
    return "#cloud-config\n" + YAML.stringify({ hostname: input.hostname, fqdn: input.hostname });
}
