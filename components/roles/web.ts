/**
 * The web server: Nginx virtual hosts and TLS (certbot), the only public VM and the SSH bastion.
 * Its vhosts are rendered here from the stack's sites; the vhost templates are in
 * cloud-init/files/web/.
 */
import { ipv4, mergeCloudConfig, readFileSource, YamlMap } from "../cloudConfig";
import { monitoringHostParts } from "../monitoring";
import { nginxToken, PUT_FUNCTION, putFile, shellWord as q } from "../escape";
import type { Site, UserDataInput } from "../userData";
import { portOf, proxiedPorts, ROLE_NAMES, RoleName, ROLES } from "./index";
import { MONITORING_PORTS, RoleSpec } from "./types";

export const web: RoleSpec<"web"> = {
    name: "web",
    typeToken: "ouvroir:vm:WebServerVM",
    short: "web",
    description: "Nginx, virtual hosts, TLS; the only public VM and the SSH bastion",
    public: true,
    stateful: true,
    ports: [
        { name: "http", port: 80, from: "world" },
        { name: "https", port: 443, from: "world" },
        { name: "ssh", port: 22, from: "admin" },
        { name: "ssh-researchers", port: 22, from: "researchers" },
    ],
    minVcpus: 1,
    minRamGb: 1.5,
    defaultFlavor: "p2-3gb",
    defaultDataVolumeGb: 20,
    dataMountPoint: "/srv/data",
    // The researchers: their jump-only accounts (the sandbox host is where they log in).
    takes: ["sites", "researchers", "alerts"],
    cloudInit: {
        template: "web-server.yaml",
        parts: (input, dir) =>
            mergeCloudConfig(monitoringHostParts(input), {
                write_files: [...webFiles(input, dir), jumpConfig(input, dir)],
            }),
    },
    apply: {
        // A site taken out of the list: its vhost goes (its files on the volume stay).
        prune: {
            dir: "/etc/nginx/sites-available",
            suffix: ".conf",
            alsoIn: "/etc/nginx/sites-enabled",
        },
        script: (input) => jumpAccountsScript(input),
        secrets: () => [],
    },
    // Each site is probed through Nginx (monitoring.ts); the monitoring host's own services too.
    monitor: {
        units: [
            "nginx[.]service",
            "php.+-fpm[.]service",
            "prometheus[.]service",
            "prometheus-alertmanager[.]service",
            "prometheus-blackbox-exporter[.]service",
        ],
        probes: [],
    },
    // The monitoring host's UIs, never published: Prometheus and Alertmanager by the bastion.
    tunnels: [
        {
            suffix: "prometheus",
            localPort: MONITORING_PORTS.prometheus,
            remotePort: MONITORING_PORTS.prometheus,
            endpoint: "prometheus",
        },
        {
            suffix: "alertmanager",
            localPort: MONITORING_PORTS.alertmanager,
            remotePort: MONITORING_PORTS.alertmanager,
            endpoint: "alertmanager",
        },
    ],
    backup: {
        dumps: [],
        // Metrics history: worth nothing once restored (the alerts read the last minutes).
        excludes: ["/srv/data/prometheus"],
        services: ["nginx.service"],
        afterRestore: ["/usr/local/sbin/ouvroir-web-setup"],
    },
};

/** Nginx configuration of the web server, built from the templates in `files/web/`. */
export function webFiles(input: UserDataInput, dir: string): YamlMap[] {
    const read = (name: string): string => readFileSource(dir, `web/${name}`);
    const upstream = (role: RoleName, port: number): string => {
        const ip = input.upstreams[role];
        if (ip === undefined)
            throw new Error(`web server: no address for role ${role} in upstreams`);
        return nginxToken("upstream", `${ipv4(`upstreams.${role}`, ip)}:${port}`);
    };
    const locations: string[] = [];
    if (input.upstreams.iiif !== undefined) {
        locations.push(
            read("location-iiif.conf")
                .replaceAll("{{upstream}}", upstream("iiif", portOf("iiif", "cantaloupe")))
                .replaceAll("{{manifestsUpstream}}", upstream("iiif", portOf("iiif", "manifests"))),
        );
    }
    // A site may claim the public host name: the default vhost then serves that site's files.
    const main = input.sites.find((s) => s.domains.includes(input.publicHostname));
    if (main !== undefined && main.kind !== "static") {
        throw new Error(
            `site ${main.name}: only a static site may use publicHostname ${input.publicHostname} ` +
                "(the default vhost also carries /iiif/); give it another domain",
        );
    }
    const files: YamlMap[] = [
        {
            path: "/etc/nginx/sites-available/00-default.conf",
            permissions: "0644",
            defer: true,
            content: read("default-vhost.conf")
                .replace("{{defaultLocations}}", locations.join("\n"))
                .replaceAll(
                    "{{publicHostname}}",
                    input.publicHostname === ""
                        ? ""
                        : nginxToken("publicHostname", input.publicHostname),
                )
                .replaceAll("{{defaultRoot}}", nginxToken("site name", main?.name ?? "default")),
        },
    ];
    for (const site of input.sites) {
        const domains = site.domains.filter((d) => d !== input.publicHostname);
        if (domains.length === 0) {
            continue;
        }
        let target = "";
        let restxq = "";
        if (site.kind === "proxy") {
            const role = site.upstreamRole;
            if (
                role === undefined ||
                input.upstreams[role] === undefined ||
                site.upstreamPort === undefined
            ) {
                throw new Error(
                    `site ${site.name}: a proxy site needs upstreamRole and upstreamPort, and ` +
                        `upstreams must hold that role's address (got ${role ?? "none"})`,
                );
            }
            const port = site.upstreamPort;
            if (!proxiedPorts(role).some((p) => port >= p.port && port <= (p.portMax ?? p.port))) {
                throw new Error(
                    `site ${site.name}: ${role}:${port} is not a port a proxy site may forward to`,
                );
            }
            target = upstream(role, port);
        }
        if (site.kind === "restxq") {
            target = upstream("xmldb", portOf("xmldb", "basex-http"));
            restxq = restxqLocations(site, target, read("location-restxq.conf"));
        }
        files.push({
            path: `/etc/nginx/sites-available/${nginxToken("site name", site.name)}.conf`,
            permissions: "0644",
            defer: true,
            content: read(`site-${site.kind}.conf`)
                .replaceAll("{{siteName}}", nginxToken("site name", site.name))
                .replaceAll(
                    "{{serverNames}}",
                    domains.map((d) => nginxToken(`site ${site.name} domain`, d)).join(" "),
                )
                .replaceAll("{{upstream}}", target)
                .replace("{{restxqLocations}}", restxq),
        });
    }
    files.push({
        path: "/etc/ouvroir/sites",
        permissions: "0644",
        content:
            ["default " + input.publicHostname, ...input.sites.map(siteLine)].join("\n") + "\n",
    });
    return files;
}

/** BaseX's own paths, never published: REST, the DBA web admin, WebDAV, WebSockets. */
export const BASEX_ADMIN_PATHS = ["rest", "dba", "webdav", "ws"] as const;

/**
 * Pure: why a RESTXQ path prefix cannot be published, or undefined when it can: `shape` (not
 * like `/edition/`: letters, digits, . _ -; no `/`, no `..`) or the BaseX admin path it names.
 * Config validation and the renderer both ask this one rule.
 */
export function restxqPathProblem(
    p: string,
): "shape" | (typeof BASEX_ADMIN_PATHS)[number] | undefined {
    if (!/^(\/[A-Za-z0-9][A-Za-z0-9._-]*)+\/$/.test(p)) return "shape";
    const first = (p.split("/")[1] ?? "").toLowerCase();
    return BASEX_ADMIN_PATHS.find((a) => a === first);
}

/** One Nginx location per published RESTXQ path prefix. */
function restxqLocations(site: Site, target: string, template: string): string {
    const paths = site.paths ?? [];
    if (paths.length === 0) throw new Error(`site ${site.name}: a restxq site needs paths`);
    return paths
        .map((p) => {
            if (restxqPathProblem(p) !== undefined) {
                throw new Error(`site ${site.name}: path ${JSON.stringify(p)} cannot be published`);
            }
            return template
                .replaceAll("{{path}}", nginxToken("restxq path", p))
                .replaceAll("{{upstream}}", target);
        })
        .join("\n");
}

/** One line per vhost for the boot scripts: `<name> <domain> <domain>…`. */
function siteLine(site: Site): string {
    return [site.name, ...site.domains].join(" ");
}

/** The jump accounts' group, their key files, and the step that keeps both in line with config. */
const JUMP_GROUP = "ouvroir-jump";
const JUMP_KEYS = "/etc/ssh/ouvroir-jump";
const JUMP_ACCOUNTS = "/usr/local/sbin/ouvroir-jump-accounts";

/** Pure: `address:22` of each deployed role researchers log into (their only forward). */
export function jumpTargets(input: UserDataInput): string[] {
    return ROLE_NAMES.filter(
        (r) => ROLES[r].researcherLogin && input.upstreams[r] !== undefined,
    ).map((r) => `${ipv4(`upstreams.${r}`, input.upstreams[r] as string)}:22`);
}

/** sshd's rules for the jump accounts; no target (no sandbox host): they may open nothing. */
export function jumpConfig(input: UserDataInput, dir: string): YamlMap {
    const targets = jumpTargets(input);
    return {
        path: "/etc/ssh/sshd_config.d/20-ouvroir-jump.conf",
        permissions: "0644",
        content: readFileSource(dir, "web/sshd-jump.conf").replace(
            "{{permitOpen}}",
            targets.length > 0 ? targets.join(" ") : "none",
        ),
    };
}

/**
 * The applier's jump-account step, installed as /usr/local/sbin/ouvroir-jump-accounts and run:
 * one account per researcher on the bastion (no home, no password, `nologin` as shell, group
 * ouvroir-jump), their keys in root's file with the same restrictions as sshd's Match block;
 * an account whose researcher left the list is deleted with its key file (the bastion holds no
 * researcher data). An account of that name that is not a jump account stops the step.
 */
export function jumpAccountsScript(input: UserDataInput): string[] {
    const names = input.researchers.map((r) => r.name);
    const targets = jumpTargets(input);
    const options = ["restrict", "port-forwarding", ...targets.map((t) => `permitopen="${t}"`)];
    const script = [
        "#!/bin/bash",
        "set -euo pipefail",
        PUT_FUNCTION,
        `getent group ${JUMP_GROUP} >/dev/null || groupadd --system ${JUMP_GROUP}`,
        `install -d -m 0755 ${JUMP_KEYS}`,
        ...input.researchers.flatMap((r) => [
            `if id -u ${q(r.name)} >/dev/null 2>&1; then`,
            `    [[ " $(id -nG ${q(r.name)}) " == *" ${JUMP_GROUP} "* ]] || {`,
            `        echo ${q(`ouvroir-jump-accounts: an account named ${r.name} exists on the bastion and is not a researcher's; rename the researcher in ouvroir:researchers`)} >&2`,
            "        exit 1",
            "    }",
            "else",
            `    useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group --groups ${JUMP_GROUP} --comment 'Researcher (jump only)' ${q(r.name)}`,
            "fi",
            putFile(
                `${JUMP_KEYS}/${r.name}`,
                "0644",
                r.sshPublicKeys.map((k) => `${options.join(",")} ${k}`).join("\n") + "\n",
            ),
        ]),
        `keep=${q(` ${names.join(" ")} `)}`,
        `for old in $(getent group ${JUMP_GROUP} | cut -d: -f4 | tr ',' ' '); do`,
        '    [[ "$keep" != *" $old "* ]] || continue',
        '    pkill -KILL -u "$old" 2>/dev/null || true',
        '    userdel "$old"',
        '    echo "ouvroir-jump-accounts: researcher $old removed from the list: jump account deleted"',
        "done",
        `for f in ${JUMP_KEYS}/*; do`,
        '    [[ -e "$f" && "$keep" != *" ${f##*/} "* ]] || continue',
        '    rm -f -- "$f"',
        "done",
    ].join("\n");
    return [putFile(JUMP_ACCOUNTS, "0755", script + "\n"), JUMP_ACCOUNTS];
}
