/**
 * Monitoring and alerting, from Debian's packages. Every VM runs Prometheus's node exporter
 * (base.yaml), which reports its disks, the systemd units its role names (the role spec's
 * `monitor.units`) and the textfile metrics of node-metrics.sh and the backups. The web server
 * is the monitoring host: Prometheus, Alertmanager and the blackbox exporter, all on its
 * loopback, reached through the bastion's SSH tunnels only (the `sshConfig` output), never
 * through the public Nginx. Its history is on its data volume (/srv/data/prometheus).
 *
 * The alerts are data (ALERTS below): the rules file and the README's "Operating" table are
 * rendered from it. The receivers (e-mail through the lab's SMTP relay, a webhook) come from
 * `ouvroir:alerts`; their secrets (the relay's password, the webhook's URL) travel by day-2
 * only, into 0600 files that alertmanager-config.py merges at Alertmanager's start.
 */
import * as YAML from "yaml";
import { ipv4, YamlMap } from "./cloudConfig";
import { PUT_FUNCTION, putFile } from "./escape";
import {
    MONITORING_PORTS,
    NODE_EXPORTER_PORT,
    ROLE_NAMES,
    RoleName,
    ROLES,
    rolePorts,
} from "./roles";
import type { UserDataInput } from "./userData";

/** Where the monitoring host's configuration lives (not the packages' conffiles). */
export const MONITORING_DIR = "/etc/ouvroir/monitoring";
/** The receivers' secrets, written by day-2 (0600, root). */
export const ALERT_SECRETS_DIR = `${MONITORING_DIR}/secrets`;
/** The node exporter's textfile directory (Debian's default). */
export const TEXTFILE_DIR = "/var/lib/prometheus/node-exporter";

/** The receivers of the alerts (`ouvroir:alerts`); the secrets are separate keys. */
export interface AlertSettings {
    readonly email?: {
        readonly to: readonly string[];
        readonly from: string;
        /** `host:port` of the lab's SMTP relay (the Alliance forbids running a mail server). */
        readonly smarthost: string;
        /** Set: the relay wants a login; its password is the secret `ouvroir:alertSmtpPassword`. */
        readonly username?: string;
        /** STARTTLS required (default true). */
        readonly requireTls: boolean;
    };
    /** A webhook receiver too; its URL (which often holds a token) is `ouvroir:alertWebhookUrl`. */
    readonly webhook: boolean;
}

export interface AlertSecrets {
    readonly smtpPassword?: string;
    readonly webhookUrl?: string;
}

/** One alert: the rule, how it reads, and what the operator does (README "Operating"). */
export interface Alert {
    readonly name: string;
    readonly expr: string;
    /** How long the condition holds before the alert fires. */
    readonly for: string;
    readonly severity: "critical" | "warning";
    /** When it fires, in words (README's table). */
    readonly when: string;
    /** The notification's text (Prometheus template). */
    readonly summary: string;
    /** What to do, for the README's table. */
    readonly action: string;
}

const used = (mount: string): string =>
    `1 - node_filesystem_avail_bytes{mountpoint="${mount}"} / node_filesystem_size_bytes{mountpoint="${mount}"}`;

/** Every alert the monitoring host evaluates. */
export const ALERTS: readonly Alert[] = [
    {
        name: "HostDown",
        expr: 'up{job="node"} == 0',
        for: "5m",
        severity: "critical",
        when: "a VM's node exporter does not answer the monitoring host",
        summary:
            "The {{ $labels.role }} server ({{ $labels.instance }}) does not answer the monitoring host.",
        action: "Open the VM's console log in the dashboard (`openstack console log show <name>`); reboot it (`openstack server reboot <name>`). If it does not come back, rebuild it: list the role in `ouvroir:rebuild` for one `pulumi up` (its data volume is kept).",
    },
    {
        name: "ServiceDown",
        expr:
            'label_replace(node_systemd_unit_state{state="active"}, "service", "$1", "name", "(.+)") == 0' +
            " or ouvroir_service_up == 0",
        for: "5m",
        severity: "critical",
        when: "a service the role runs is not active (a researcher's Docker on the sandbox host too)",
        summary: "{{ $labels.service }} is not running on the {{ $labels.role }} server.",
        action: "`ssh <host>` then `systemctl status <service>` and `journalctl -u <service> -n 100`; `sudo systemctl restart <service>`. Most services restart themselves on failure: one still down has a cause in its log (a full disk, a bad configuration pushed by day-2).",
    },
    {
        name: "ProbeFailed",
        expr: "probe_success == 0",
        for: "5m",
        severity: "critical",
        when: "a site (through Nginx, with its host name) or a role's service port does not answer",
        summary: "{{ $labels.probe }} ({{ $labels.instance }}) does not answer.",
        action: "A site through Nginx: `curl -skI https://<domain>/` from the web server, then the upstream's service (ServiceDown usually fires with it). A service's port: its host's service and firewall (`sudo nft list ruleset`).",
    },
    {
        name: "DataVolumeAlmostFull",
        expr: `${used("/srv/data")} >= 0.85`,
        for: "10m",
        severity: "warning",
        when: "a data volume is ≥ 85 % full",
        summary:
            "The data volume of the {{ $labels.role }} server is {{ $value | humanizePercentage }} full: grow it with `pulumi config set --path 'ouvroir:roles.{{ $labels.role }}.dataVolumeGb' <GB>` then `pulumi up` (online, no copy).",
        action: "Grow it: `pulumi config set --path 'ouvroir:roles.<role>.dataVolumeGb' <bigger>` then `pulumi up`; Cinder extends the volume and the VM grows its filesystem online (docs/architecture.md). Check the quota report first (`pulumi stack output quota`).",
    },
    {
        name: "BootDiskAlmostFull",
        expr: `${used("/")} >= 0.85`,
        for: "10m",
        severity: "warning",
        when: "a boot disk is ≥ 85 % full",
        summary:
            "The boot disk of the {{ $labels.role }} server is {{ $value | humanizePercentage }} full.",
        action: "`sudo du -xh / --max-depth=2 | sort -h | tail`; usually logs (`journalctl --vacuum-size=200M`) or apt's cache (`apt-get clean`). Data belongs on the data volume; a bigger boot disk is `ouvroir:bootVolumeGb` and a rebuild.",
    },
    {
        name: "BackupFailed",
        expr: "ouvroir_backup_last_run_success == 0",
        for: "1m",
        severity: "critical",
        when: "the last off-site backup run failed (its keys missing too)",
        summary: "The last off-site backup of the {{ $labels.role }} server failed.",
        action: "`sudo journalctl -u ouvroir-backup -n 100` on the host; run it again with `sudo systemctl start ouvroir-backup` once the cause is fixed (the bucket's keys, the endpoint, a full volume). docs/backup.md.",
    },
    {
        name: "BackupMissing",
        expr: "time() - ouvroir_backup_last_success_timestamp_seconds > 26 * 3600",
        for: "5m",
        severity: "critical",
        when: "no successful off-site backup for 26 h",
        summary:
            "The {{ $labels.role }} server has had no successful off-site backup for more than 26 hours.",
        action: "As for BackupFailed; if no run happened at all, `systemctl list-timers ouvroir-backup.timer` on the host.",
    },
    {
        name: "CertificateExpiresSoon",
        expr: "probe_ssl_earliest_cert_expiry - time() < 14 * 86400",
        for: "1h",
        severity: "warning",
        when: "a site's certificate expires in < 14 days",
        summary: "The certificate of {{ $labels.probe }} expires in less than 14 days.",
        action: "certbot renews 30 days ahead: it failed. `sudo journalctl -u ouvroir-certbot -n 50` on the web server (DNS not pointing at the floating IP, port 80 closed, Let's Encrypt's rate limits); `sudo systemctl start ouvroir-certbot` once fixed.",
    },
    {
        name: "RebootRequired",
        expr: "ouvroir_reboot_required == 1",
        for: "1h",
        severity: "warning",
        when: "an upgrade asked for a reboot",
        summary: "The {{ $labels.role }} server needs a reboot to finish its security updates.",
        action: "Reboot it at a quiet hour: `sudo systemctl reboot` (services and mounts come back by themselves; the web server's reboot interrupts the sites for a minute).",
    },
    {
        name: "SecurityUpdatesPending",
        expr: "ouvroir_security_updates_pending > 0",
        for: "24h",
        severity: "warning",
        when: "security updates wait, not installed",
        summary:
            "{{ $value }} security update(s) wait on the {{ $labels.role }} server since a day: unattended-upgrades did not install them.",
        action: "`sudo unattended-upgrade -d` shows why (a held package, a configuration prompt, dpkg interrupted: `sudo dpkg --configure -a`).",
    },
    {
        name: "MetricsStale",
        expr: "time() - ouvroir_node_metrics_timestamp_seconds > 3600",
        for: "10m",
        severity: "warning",
        when: "a VM's update and backup metrics are over an hour old",
        summary:
            "The {{ $labels.role }} server has not refreshed its update and backup metrics for an hour.",
        action: "`systemctl status ouvroir-node-metrics.timer ouvroir-node-metrics.service` on the host.",
    },
];

/**
 * The quota report's line on monitoring (`npm run quota`, the `quota` output): why it costs
 * nothing of the allocation.
 */
export const MONITORING_QUOTA_NOTE =
    "Monitoring (Prometheus, Alertmanager, the blackbox exporter) runs on the web server: no instance, volume, floating IP or security group of its own: about 200 MB of its RAM (167 MB measured on the VM test guest, 2026-12-07) and at most 2 GB of its data volume. A monitoring VM of its own would take one more instance, boot volume and security group, and its flavor's vCPUs and RAM.";

/** The README's "Operating" table (between its alerts markers; `npm run config:docs` writes it). */
export const ALERTS_START =
    "<!-- alerts:start (from components/monitoring.ts ALERTS: npm run config:docs) -->";
export const ALERTS_END = "<!-- alerts:end -->";

/** Pure: the alerts as a Markdown table: name, severity, when, after how long, what to do. */
export function renderAlertsTable(alerts: readonly Alert[] = ALERTS): string {
    const cell = (t: string): string => t.replace(/\|/g, "\\|");
    return [
        "| alert | severity | fires when | for | what to do |",
        "|---|---|---|---|---|",
        ...alerts.map(
            (a) => `| ${a.name} | ${a.severity} | ${cell(a.when)} | ${a.for} | ${cell(a.action)} |`,
        ),
    ].join("\n");
}

/** Pure: the README with its alerts table rendered from ALERTS. */
export function withAlertsTable(readme: string): string {
    const a = readme.indexOf(ALERTS_START);
    const b = readme.indexOf(ALERTS_END);
    if (a < 0 || b < a) throw new Error("README.md: the alerts table's markers are missing");
    return `${readme.slice(0, a)}${ALERTS_START}\n${renderAlertsTable()}\n${readme.slice(b)}`;
}

/** Pure: Prometheus's rules file. */
export function renderAlertRules(alerts: readonly Alert[] = ALERTS): string {
    return (
        "# ouvroir: rendered by components/monitoring.ts (ALERTS); the README's Operating table too.\n" +
        YAML.stringify({
            groups: [
                {
                    name: "ouvroir",
                    rules: alerts.map((a) => ({
                        alert: a.name,
                        expr: a.expr,
                        for: a.for,
                        labels: { severity: a.severity },
                        annotations: { summary: a.summary },
                    })),
                },
            ],
        })
    );
}

/**
 * The node exporter's systemd units of a role: the base services and the role's own. Not
 * nftables.service: the first boot loads the rules with `nft -f` (its table only) and leaves the
 * unit inactive until a reboot, so its state says nothing of the firewall.
 */
export const BASE_UNITS = [
    "ssh[.]service",
    "chrony[.]service",
    "fail2ban[.]service",
    "prometheus-node-exporter[.]service",
] as const;

/** Pure: the node exporter's `--collector.systemd.unit-include` for a role (anchored by it). */
export function unitInclude(role: RoleName): string {
    const units = [...BASE_UNITS, ...ROLES[role].monitor.units];
    for (const u of units) {
        // A word for systemd's ExecStart: no space, quote, `$`, `%`, backslash.
        if (!/^[A-Za-z0-9@.+*[\]_-]+$/.test(u)) throw new Error(`monitor: unit pattern ${u}`);
    }
    return `(${units.join("|")})`;
}

/**
 * Pure: where a role's node exporter listens: the roles its port rule names reach it on the
 * private network; a role without that rule (the monitoring host) keeps it on its loopback.
 */
export function nodeExporterListen(role: RoleName): string {
    const open = ROLES[role].ports.some((p) => p.port === NODE_EXPORTER_PORT);
    return open ? `:${NODE_EXPORTER_PORT}` : `127.0.0.1:${NODE_EXPORTER_PORT}`;
}

/** A scrape or probe target: the web server itself by its loopback, another role by its address. */
function address(input: UserDataInput, role: RoleName, port: number): string | undefined {
    if (role === input.role) return `127.0.0.1:${port}`;
    const ip = input.upstreams[role];
    return ip === undefined || ip === "" ? undefined : `${ipv4(`upstreams.${role}`, ip)}:${port}`;
}

/** The deployed roles, the monitoring host first (its own address is the loopback). */
function monitoredRoles(input: UserDataInput): RoleName[] {
    return ROLE_NAMES.filter((r) => r === input.role || address(input, r, 1) !== undefined);
}

/** The probe modules of the blackbox exporter: status codes that mean "it answers". */
const ANSWERS = [200, 204, 301, 302, 303, 307, 308, 401, 403, 404, 405];

/** Pure: the blackbox exporter's modules: one per kind, and one per site (its Host header). */
export function renderBlackboxConfig(input: UserDataInput): string {
    const modules: Record<string, unknown> = {
        http: {
            prober: "http",
            timeout: "10s",
            http: { valid_status_codes: ANSWERS, preferred_ip_protocol: "ip4" },
        },
        tcp: { prober: "tcp", timeout: "10s", tcp: { preferred_ip_protocol: "ip4" } },
    };
    for (const site of input.sites) {
        const domain = site.domains[0] as string;
        modules[`site-${site.name}`] = {
            prober: "http",
            timeout: "10s",
            http: {
                // What a visitor gets: 2xx or a redirect Nginx makes (the check follows none).
                valid_status_codes: [200, 204, 301, 302, 303, 307, 308],
                no_follow_redirects: true,
                preferred_ip_protocol: "ip4",
                headers: { Host: domain },
                // The certificate's dates are read (CertificateExpiresSoon); its name is the
                // site's, not the loopback's, and a fresh VM serves a self-signed one at first.
                tls_config: { insecure_skip_verify: true, server_name: domain },
            },
        };
    }
    return "# ouvroir: rendered by components/monitoring.ts\n" + YAML.stringify({ modules });
}

/** Pure: the probes of the deployed stack: each site through Nginx, each role's own. */
export function probeTargets(
    input: UserDataInput,
): { module: string; target: string; probe: string; role: RoleName }[] {
    const out: ReturnType<typeof probeTargets> = [];
    for (const site of input.sites) {
        const path = site.kind === "restxq" ? (site.paths?.[0] ?? "/") : "/";
        out.push({
            module: `site-${site.name}`,
            target: `https://127.0.0.1${path}`,
            probe: `site ${site.name} (${site.domains[0] as string})`,
            role: input.role,
        });
    }
    for (const role of monitoredRoles(input)) {
        for (const p of ROLES[role].monitor.probes) {
            const rule = rolePorts(ROLES[role], input.sqlEngine).find((r) => r.name === p.rule);
            if (!rule) throw new Error(`monitor: ${role} has no port rule ${p.rule}`);
            const at = address(input, role, rule.port) as string;
            out.push({
                module: p.module,
                target: p.module === "http" ? `http://${at}${p.path ?? "/"}` : at,
                probe: `${role} ${p.name}`,
                role,
            });
        }
    }
    return out;
}

/** Pure: Prometheus's configuration on the monitoring host. */
export function renderPrometheusConfig(input: UserDataInput): string {
    const nodes = monitoredRoles(input).map((role) => ({
        targets: [address(input, role, NODE_EXPORTER_PORT) as string],
        labels: { role },
    }));
    const probes = probeTargets(input);
    const byModule = new Map<string, typeof probes>();
    for (const p of probes) byModule.set(p.module, [...(byModule.get(p.module) ?? []), p]);
    const blackbox = `127.0.0.1:${MONITORING_PORTS.blackbox}`;
    const config = {
        global: { scrape_interval: "30s", evaluation_interval: "30s" },
        rule_files: [`${MONITORING_DIR}/rules.yml`],
        alerting: {
            alertmanagers: [
                { static_configs: [{ targets: [`127.0.0.1:${MONITORING_PORTS.alertmanager}`] }] },
            ],
        },
        scrape_configs: [
            { job_name: "node", static_configs: nodes },
            ...[...byModule.entries()].map(([module, ps]) => ({
                job_name: `probe-${module}`,
                metrics_path: "/probe",
                params: { module: [module] },
                static_configs: ps.map((p) => ({
                    targets: [p.target],
                    labels: { role: p.role, probe: p.probe },
                })),
                relabel_configs: [
                    { source_labels: ["__address__"], target_label: "__param_target" },
                    { source_labels: ["__param_target"], target_label: "instance" },
                    { target_label: "__address__", replacement: blackbox },
                ],
            })),
        ],
    };
    return "# ouvroir: rendered by components/monitoring.ts\n" + YAML.stringify(config);
}

/**
 * Pure: Alertmanager's configuration without its secrets (alertmanager-config.py adds the relay's
 * password to each e-mail receiver with a login, and the webhook when its URL file exists). With
 * no receiver, the alerts are only in Alertmanager's UI and API (the preview warns).
 */
export function renderAlertmanagerConfig(alerts: AlertSettings | undefined): string {
    const email = alerts?.email;
    const receiver: Record<string, unknown> = { name: "operator" };
    if (email) {
        receiver.email_configs = [
            {
                to: email.to.join(", "),
                from: email.from,
                smarthost: email.smarthost,
                require_tls: email.requireTls,
                send_resolved: true,
                ...(email.username !== undefined ? { auth_username: email.username } : {}),
            },
        ];
    }
    const config = {
        route: {
            receiver: "operator",
            group_by: ["alertname", "role"],
            group_wait: "30s",
            group_interval: "5m",
            repeat_interval: "12h",
        },
        receivers: [receiver],
    };
    return "# ouvroir: rendered by components/monitoring.ts\n" + YAML.stringify(config);
}

/** Problems of `ouvroir:alerts`, each naming its key and the fix. */
export function validateAlertSettings(value: unknown, key = "ouvroir:alerts"): string[] {
    const problems: string[] = [];
    if (typeof value !== "object" || value === null || Array.isArray(value))
        return [`${key} must be an object {email: {...}, webhook: true|false} or {} for none.`];
    const v = value as Record<string, unknown>;
    for (const k of Object.keys(v))
        if (!["email", "webhook"].includes(k))
            problems.push(`${key}.${k} is not an alert setting; use email, webhook.`);
    if (v.webhook !== undefined && typeof v.webhook !== "boolean")
        problems.push(
            `${key}.webhook must be true or false (the URL is the secret ouvroir:alertWebhookUrl).`,
        );
    if (v.email !== undefined) {
        const e = v.email as Record<string, unknown>;
        if (typeof e !== "object" || e === null || Array.isArray(e)) {
            problems.push(
                `${key}.email must be an object {to, from, smarthost, username, requireTls}.`,
            );
            return problems;
        }
        const known = ["to", "from", "smarthost", "username", "requireTls"];
        for (const k of Object.keys(e))
            if (!known.includes(k))
                problems.push(
                    `${key}.email.${k} is not an e-mail setting; use ${known.join(", ")}.`,
                );
        const mailbox = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;
        const to = Array.isArray(e.to) ? e.to : [e.to];
        if (to.length === 0 || to.some((t) => typeof t !== "string" || !mailbox.test(t)))
            problems.push(
                `${key}.email.to must be one or more e-mail addresses (e.g. ["operateur@umontreal.ca"]).`,
            );
        if (typeof e.from !== "string" || !mailbox.test(e.from))
            problems.push(
                `${key}.email.from must be an e-mail address the relay accepts as sender.`,
            );
        if (typeof e.smarthost !== "string" || !/^[A-Za-z0-9.-]+:[0-9]{1,5}$/.test(e.smarthost))
            problems.push(
                `${key}.email.smarthost must be the SMTP relay as host:port (e.g. smtp.umontreal.ca:587): the Alliance forbids running a mail server.`,
            );
        if (
            e.username !== undefined &&
            (typeof e.username !== "string" || !/^[A-Za-z0-9._@+-]{1,128}$/.test(e.username))
        )
            problems.push(
                `${key}.email.username must be the relay's login (letters, digits, . _ @ + -).`,
            );
        if (e.requireTls !== undefined && typeof e.requireTls !== "boolean")
            problems.push(`${key}.email.requireTls must be true or false.`);
    }
    return problems;
}

/** Pure: `ouvroir:alerts` (validated) → the settings; `{}` → undefined. */
export function parseAlertSettings(value: Record<string, unknown>): AlertSettings | undefined {
    if (Object.keys(value).length === 0) return undefined;
    const e = value.email as Record<string, unknown> | undefined;
    return {
        ...(e
            ? {
                  email: {
                      to: (Array.isArray(e.to) ? e.to : [e.to]).map(String),
                      from: String(e.from),
                      smarthost: String(e.smarthost),
                      ...(e.username !== undefined ? { username: String(e.username) } : {}),
                      requireTls: e.requireTls !== false,
                  },
              }
            : {}),
        webhook: value.webhook === true,
    };
}

/** The monitoring host's files, packages and commands: merged into the web role's user data. */
export function monitoringHostParts(input: UserDataInput): YamlMap {
    const file = (path: string, content: string, mode = "0644"): YamlMap => ({
        path,
        permissions: mode,
        content,
    });
    const source = (path: string, src: string, mode = "0644"): YamlMap => ({
        path,
        permissions: mode,
        source: src,
    });
    return {
        packages: ["prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter"],
        // Written before the packages: they start with these settings at their installation.
        write_files: [
            file(`${MONITORING_DIR}/prometheus.yml`, renderPrometheusConfig(input)),
            file(`${MONITORING_DIR}/rules.yml`, renderAlertRules()),
            file(`${MONITORING_DIR}/blackbox.yml`, renderBlackboxConfig(input)),
            file(
                `${MONITORING_DIR}/alertmanager-nosecrets.yml`,
                renderAlertmanagerConfig(input.alerts),
            ),
            source(
                "/usr/local/lib/ouvroir/alertmanager-config.py",
                "monitoring/alertmanager-config.py",
                "0755",
            ),
            source(
                "/etc/systemd/system/prometheus.service.d/10-ouvroir.conf",
                "monitoring/prometheus.conf",
            ),
            source(
                "/etc/systemd/system/prometheus-alertmanager.service.d/10-ouvroir.conf",
                "monitoring/alertmanager.conf",
            ),
            source(
                "/etc/systemd/system/prometheus-blackbox-exporter.service.d/10-ouvroir.conf",
                "monitoring/blackbox.conf",
            ),
            source(
                "/usr/local/sbin/ouvroir-monitoring-setup",
                "monitoring/monitoring-setup.sh",
                "0755",
            ),
        ],
        runcmd: [["/usr/local/sbin/ouvroir-monitoring-setup"]],
    };
}

/**
 * Pure: the day-2 fragment (bash, root) that writes the receivers' secrets (0600) and restarts
 * Alertmanager when they changed. A secret no longer set is removed.
 */
export function renderAlertSecretsSetup(secrets: AlertSecrets): string {
    const lines = [
        "# --- ouvroir alert receivers' secrets: components/monitoring.ts",
        "(",
        "set -euo pipefail",
        PUT_FUNCTION,
        `install -d -m 0700 ${ALERT_SECRETS_DIR}`,
        // No secret yet (the first push): the glob matches nothing and cat fails; under
        // pipefail that failure would end the push, so it is the hash of nothing instead.
        `secrets_sum() { { cat ${ALERT_SECRETS_DIR}/* 2>/dev/null || true; } | sha256sum; }`,
        `before="$(secrets_sum)"`,
    ];
    const files = { smtpPassword: "smtp-password", webhookUrl: "webhook-url" } as const;
    for (const [k, name] of Object.entries(files) as [keyof AlertSecrets, string][]) {
        const value = secrets[k];
        if (value !== undefined && value !== "")
            lines.push(putFile(`${ALERT_SECRETS_DIR}/${name}`, "0600", value, true));
        else lines.push(`rm -f ${ALERT_SECRETS_DIR}/${name}`);
    }
    lines.push(
        `if [[ "$(secrets_sum)" != "$before" ]]; then`,
        "    systemctl restart prometheus-alertmanager.service",
        "fi",
        ")",
    );
    return lines.join("\n") + "\n";
}
