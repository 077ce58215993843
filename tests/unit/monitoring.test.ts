// Monitoring and alerting (components/monitoring.ts), proven without a VM: the alert rules fire
// and stay silent as promtool evaluates them over synthetic series (the real durations: 5 min,
// 10 min, 26 h, 24 h); the rendered Prometheus, Alertmanager and blackbox configurations are
// accepted by the tools of Debian 12's packages (tests/harness/monitoring-tools.sh); the
// receivers' secrets reach only the day-2 push and Alertmanager's merged file; every VM's node
// exporter is open to the monitoring host alone. Does not prove that the services run, scrape,
// fire or send mail on a VM (tests/vm/roles.test.ts does), nor Debian 13's versions of the tools.
import { execFile, execFileSync, spawnSync } from "child_process";
import { promisify } from "util";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import {
    ALERTS,
    AlertSettings,
    nodeExporterListen,
    renderAlertmanagerConfig,
    renderAlertRules,
    renderAlertSecretsSetup,
    ALERT_SECRETS_DIR,
    renderBlackboxConfig,
    renderPrometheusConfig,
    unitInclude,
    MONITORING_QUOTA_NOTE,
    validateAlertSettings,
    withAlertsTable,
} from "../../components/monitoring";
import { renderDay2Script } from "../../components/day2";
import { sshConfig } from "../../components/outputs";
import { buildCloudConfig, firewallRules } from "../../components/userData";
import { exampleInput } from "../harness/render-user-data";
import { resolved, runProgram } from "../harness/mocks";
import { devRaw, problemsOf } from "../harness/configProblems";

const ROOT = path.resolve(__dirname, "../..");
const tools = (): string =>
    execFileSync("bash", [path.join(ROOT, "tests/harness/monitoring-tools.sh")], {
        encoding: "utf8",
    }).trim();
const python = (): string =>
    execFileSync("bash", [path.join(ROOT, "tests/harness/python-tools.sh")], {
        encoding: "utf8",
    }).trim();

let bin = "";
let tmp = "";
beforeAll(() => {
    bin = tools();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-monitoring-"));
}, 600_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd = tmp): { status: number; out: string } {
    const r = spawnSync(path.join(bin, cmd), args, { cwd, encoding: "utf8" });
    return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const ALERTS_TO: AlertSettings = {
    email: {
        to: ["ops@example.org", "backup-ops@example.org"],
        from: "alertes@example.org",
        smarthost: "smtp.example.org:587",
        username: "alertes",
        requireTls: true,
    },
    webhook: true,
};
const webInput = { ...exampleInput("web", "upstream"), alerts: ALERTS_TO };

describe("the alert rules, evaluated by promtool", () => {
    const node = (labels: string): string =>
        `{job="node",role="app",instance="10.20.0.13:9100"${labels}}`;
    const at = (alertname: string, evalTime: string, alerts: object[] = []) => ({
        eval_time: evalTime,
        alertname,
        exp_alerts: alerts,
    });
    /** The alert's labels and its notification's exact text. */
    const labels = (extra: Record<string, string>, severity: string, summary?: string) => ({
        exp_labels: { job: "node", role: "app", instance: "10.20.0.13:9100", severity, ...extra },
        ...(summary !== undefined ? { exp_annotations: { summary } } : {}),
    });
    /** One case per alert: silent before its duration (or below its threshold), firing after. */
    const CASES: Record<
        string,
        { series: { series: string; values: string }[]; checks: object[] }
    > = {
        HostDown: {
            series: [{ series: `up${node("")}`, values: "0x20" }],
            checks: [
                at("HostDown", "4m"),
                at("HostDown", "6m", [
                    labels(
                        {},
                        "critical",
                        "The app server (10.20.0.13:9100) does not answer the monitoring host.",
                    ),
                ]),
            ],
        },
        ServiceDown: {
            series: [
                {
                    series: `node_systemd_unit_state${node(',name="basex.service",state="active"')}`,
                    values: "1 1 0x20",
                },
                {
                    series: `node_systemd_unit_state${node(',name="ssh.service",state="active"')}`,
                    values: "1x20",
                },
                { series: `ouvroir_service_up${node(',service="docker@alice"')}`, values: "0x20" },
            ],
            checks: [
                at("ServiceDown", "4m"),
                at("ServiceDown", "8m", [
                    {
                        ...labels(
                            { name: "basex.service", state: "active", service: "basex.service" },
                            "critical",
                        ),
                        exp_annotations: {
                            summary: "basex.service is not running on the app server.",
                        },
                    },
                    labels(
                        { service: "docker@alice" },
                        "critical",
                        "docker@alice is not running on the app server.",
                    ),
                ]),
            ],
        },
        ProbeFailed: {
            series: [{ series: `probe_success${node(',probe="app sql"')}`, values: "0x20" }],
            checks: [
                at("ProbeFailed", "4m"),
                at("ProbeFailed", "6m", [
                    labels(
                        { probe: "app sql" },
                        "critical",
                        "app sql (10.20.0.13:9100) does not answer.",
                    ),
                ]),
            ],
        },
        DataVolumeAlmostFull: {
            series: [
                {
                    series: `node_filesystem_avail_bytes${node(',mountpoint="/srv/data"')}`,
                    values: "10x30",
                },
                {
                    series: `node_filesystem_size_bytes${node(',mountpoint="/srv/data"')}`,
                    values: "100x30",
                },
                // 84 % on the boot disk: below the threshold.
                {
                    series: `node_filesystem_avail_bytes${node(',mountpoint="/"')}`,
                    values: "16x30",
                },
                {
                    series: `node_filesystem_size_bytes${node(',mountpoint="/"')}`,
                    values: "100x30",
                },
            ],
            checks: [
                at("DataVolumeAlmostFull", "9m"),
                at("DataVolumeAlmostFull", "11m", [
                    {
                        ...labels({ mountpoint: "/srv/data" }, "warning"),
                        exp_annotations: {
                            summary:
                                "The data volume of the app server is 90% full: grow it with `pulumi config set --path 'ouvroir:roles.app.dataVolumeGb' <GB>` then `pulumi up` (online, no copy).",
                        },
                    },
                ]),
                at("BootDiskAlmostFull", "20m"),
            ],
        },
        BootDiskAlmostFull: {
            series: [
                {
                    series: `node_filesystem_avail_bytes${node(',mountpoint="/"')}`,
                    values: "15x30",
                },
                {
                    series: `node_filesystem_size_bytes${node(',mountpoint="/"')}`,
                    values: "100x30",
                },
            ],
            checks: [
                at("BootDiskAlmostFull", "9m"),
                at("BootDiskAlmostFull", "11m", [
                    labels(
                        { mountpoint: "/" },
                        "warning",
                        "The boot disk of the app server is 85% full.",
                    ),
                ]),
            ],
        },
        BackupFailed: {
            series: [
                { series: `ouvroir_backup_last_run_success${node("")}`, values: "1 1 1 0x10" },
            ],
            checks: [
                at("BackupFailed", "3m"),
                at("BackupFailed", "5m", [
                    labels({}, "critical", "The last off-site backup of the app server failed."),
                ]),
            ],
        },
        BackupMissing: {
            // The last success at t=0 (promtool's clock starts at the epoch).
            series: [
                {
                    series: `ouvroir_backup_last_success_timestamp_seconds${node("")}`,
                    values: "0x1700",
                },
            ],
            checks: [
                at("BackupMissing", "25h"),
                at("BackupMissing", "26h6m", [
                    labels(
                        {},
                        "critical",
                        "The app server has had no successful off-site backup for more than 26 hours.",
                    ),
                ]),
            ],
        },
        CertificateExpiresSoon: {
            series: [
                {
                    series: `probe_ssl_earliest_cert_expiry${node(',probe="site lab"')}`,
                    values: `${13 * 86400}x100`,
                },
                {
                    series: `probe_ssl_earliest_cert_expiry${node(',probe="site far"')}`,
                    values: `${30 * 86400}x100`,
                },
            ],
            checks: [
                at("CertificateExpiresSoon", "50m"),
                at("CertificateExpiresSoon", "70m", [
                    labels(
                        { probe: "site lab" },
                        "warning",
                        "The certificate of site lab expires in less than 14 days.",
                    ),
                ]),
            ],
        },
        RebootRequired: {
            series: [{ series: `ouvroir_reboot_required${node("")}`, values: "1x100" }],
            checks: [
                at("RebootRequired", "50m"),
                at("RebootRequired", "70m", [
                    labels(
                        {},
                        "warning",
                        "The app server needs a reboot to finish its security updates.",
                    ),
                ]),
            ],
        },
        SecurityUpdatesPending: {
            series: [{ series: `ouvroir_security_updates_pending${node("")}`, values: "3x1500" }],
            checks: [
                at("SecurityUpdatesPending", "23h"),
                at("SecurityUpdatesPending", "24h10m", [
                    labels(
                        {},
                        "warning",
                        "3 security update(s) wait on the app server since a day: unattended-upgrades did not install them.",
                    ),
                ]),
            ],
        },
        MetricsStale: {
            series: [
                { series: `ouvroir_node_metrics_timestamp_seconds${node("")}`, values: "0x100" },
            ],
            checks: [
                at("MetricsStale", "65m"),
                at("MetricsStale", "75m", [
                    labels(
                        {},
                        "warning",
                        "The app server has not refreshed its update and backup metrics for an hour.",
                    ),
                ]),
            ],
        },
    };

    it("have one case each here, and only they", () => {
        expect(Object.keys(CASES).sort()).toEqual(ALERTS.map((a) => a.name).sort());
    });

    it("pass promtool's check", () => {
        fs.writeFileSync(path.join(tmp, "rules.yml"), renderAlertRules());
        const r = run("promtool", ["check", "rules", "rules.yml"]);
        expect([r.status, r.out]).toEqual([
            0,
            expect.stringContaining(`${ALERTS.length} rules found`),
        ]);
    });

    it.each(Object.keys(CASES))("%s fires after its duration, not before", (name) => {
        const c = CASES[name] as (typeof CASES)[string];
        fs.writeFileSync(path.join(tmp, "rules.yml"), renderAlertRules());
        const file = `test-${name}.yml`;
        fs.writeFileSync(
            path.join(tmp, file),
            YAML.stringify({
                rule_files: ["rules.yml"],
                evaluation_interval: "1m",
                tests: [{ interval: "1m", input_series: c.series, alert_rule_test: c.checks }],
            }),
        );
        const r = run("promtool", ["test", "rules", file]);
        expect([r.status, r.out]).toEqual([0, expect.stringContaining("SUCCESS")]);
    });

    it("a case that expects the wrong thing fails (the harness can fail)", () => {
        fs.writeFileSync(path.join(tmp, "rules.yml"), renderAlertRules());
        fs.writeFileSync(
            path.join(tmp, "test-wrong.yml"),
            YAML.stringify({
                rule_files: ["rules.yml"],
                evaluation_interval: "1m",
                tests: [
                    {
                        interval: "1m",
                        input_series: [{ series: 'up{job="node",role="app"}', values: "0x20" }],
                        alert_rule_test: [
                            {
                                eval_time: "4m",
                                alertname: "HostDown",
                                exp_alerts: [{ exp_labels: { role: "app" } }],
                            },
                        ],
                    },
                ],
            }),
        );
        expect(run("promtool", ["test", "rules", "test-wrong.yml"]).status).not.toBe(0);
    });
});

describe("the monitoring host's configuration", () => {
    it("Prometheus's is accepted by promtool: every role's node exporter, each site and service probed", () => {
        fs.writeFileSync(path.join(tmp, "rules.yml"), renderAlertRules());
        const text = renderPrometheusConfig(webInput).replace(
            "/etc/ouvroir/monitoring/rules.yml",
            path.join(tmp, "rules.yml"),
        );
        fs.writeFileSync(path.join(tmp, "prometheus.yml"), text);
        const r = run("promtool", ["check", "config", "prometheus.yml"]);
        expect([r.status, r.out]).toEqual([0, expect.stringContaining("SUCCESS")]);
        const doc = YAML.parse(text) as {
            scrape_configs: {
                job_name: string;
                static_configs: { targets: string[]; labels: Record<string, string> }[];
            }[];
        };
        const targets = doc.scrape_configs.flatMap((j) =>
            j.static_configs.map(
                (s) =>
                    `${j.job_name} ${s.targets.join(",")} ${s.labels.role}${s.labels.probe ? ` ${s.labels.probe}` : ""}`,
            ),
        );
        expect(targets).toEqual([
            "node 127.0.0.1:9100 web",
            "node 10.20.0.11:9100 xmldb",
            "node 10.20.0.12:9100 iiif",
            "node 10.20.0.13:9100 app",
            "node 10.20.0.14:9100 sandbox",
            "probe-site-lab https://127.0.0.1/ web site lab (lab.example.org)",
            "probe-site-pyapp https://127.0.0.1/ web site pyapp (py.example.org)",
            "probe-site-omeka https://127.0.0.1/ web site omeka (omeka.example.org)",
            "probe-site-edition https://127.0.0.1/edition/ web site edition (edition.example.org)",
            "probe-http http://10.20.0.11:8080/ xmldb xmldb basex",
            "probe-http http://10.20.0.12:8182/iiif/2/ iiif iiif image-api",
            "probe-http http://10.20.0.12:8183/collection.json iiif iiif manifests",
            "probe-tcp 10.20.0.13:3306 app app sql",
        ]);
    });

    it("a role not deployed is neither scraped nor probed", () => {
        const others = { ...webInput.upstreams };
        delete others.app;
        const text = renderPrometheusConfig({ ...webInput, upstreams: others, sites: [] });
        expect(text).not.toContain("10.20.0.13");
        expect(text).not.toContain("role: app");
    });

    it("the blackbox exporter's is accepted by it, with each site's Host header", () => {
        const text = renderBlackboxConfig(webInput);
        fs.writeFileSync(path.join(tmp, "blackbox.yml"), text);
        const r = run("prometheus-blackbox-exporter", [
            "--config.check",
            "--config.file=blackbox.yml",
        ]);
        expect([r.status, r.out]).toEqual([0, expect.stringMatching(/Config file is ok|exiting/i)]);
        const doc = YAML.parse(text) as {
            modules: Record<string, { http?: { headers?: Record<string, string> } }>;
        };
        expect(doc.modules["site-lab"]?.http?.headers).toEqual({ Host: "lab.example.org" });
    });

    it("Alertmanager's, merged with the secrets, is accepted by amtool; the secrets only there, 0640", () => {
        const dir = path.join(tmp, "am");
        fs.mkdirSync(path.join(dir, "secrets"), { recursive: true });
        const nosecrets = renderAlertmanagerConfig(ALERTS_TO);
        fs.writeFileSync(path.join(dir, "alertmanager-nosecrets.yml"), nosecrets);
        // A password with YAML's and the shell's specials, as an operator may have.
        const password = `p@ss: "x" #'$(id)'; }`;
        fs.writeFileSync(path.join(dir, "secrets", "smtp-password"), password + "\n");
        fs.writeFileSync(
            path.join(dir, "secrets", "webhook-url"),
            "https://hooks.example.org/T0/abc?x=1\n",
        );
        const py = python();
        const merge = spawnSync(
            py,
            [path.join(ROOT, "cloud-init/files/monitoring/alertmanager-config.py"), dir],
            {
                encoding: "utf8",
                env: {
                    ...process.env,
                    OUVROIR_ALERTMANAGER_GROUP:
                        os.userInfo().username === "root" ? "root" : "nogroup",
                },
            },
        );
        expect([merge.status, merge.stderr]).toEqual([0, ""]);
        const file = path.join(dir, "alertmanager.yml");
        expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("640");
        const merged = YAML.parse(fs.readFileSync(file, "utf8")) as {
            receivers: {
                email_configs: Record<string, unknown>[];
                webhook_configs: Record<string, unknown>[];
            }[];
        };
        expect(merged.receivers[0]?.email_configs[0]).toEqual({
            to: "ops@example.org, backup-ops@example.org",
            from: "alertes@example.org",
            smarthost: "smtp.example.org:587",
            require_tls: true,
            send_resolved: true,
            auth_username: "alertes",
            auth_password: password,
        });
        expect(merged.receivers[0]?.webhook_configs).toEqual([
            { url: "https://hooks.example.org/T0/abc?x=1", send_resolved: true },
        ]);
        expect(nosecrets).not.toContain("p@ss");
        const r = run("amtool", ["check-config", file]);
        expect([r.status, r.out]).toEqual([0, expect.stringContaining("SUCCESS")]);
    });

    it("Alertmanager without any receiver (alerts unset) is valid: the UI only", () => {
        fs.writeFileSync(path.join(tmp, "am-none.yml"), renderAlertmanagerConfig(undefined));
        const r = run("amtool", ["check-config", "am-none.yml"]);
        expect([r.status, r.out]).toEqual([0, expect.stringContaining("SUCCESS")]);
    });

    it("Prometheus, Alertmanager and the blackbox exporter listen on the loopback, Alertmanager without clustering", () => {
        const doc = buildCloudConfig(webInput);
        const files = (doc["write_files"] as { path: string; content?: string }[]).filter((f) =>
            f.path.includes(".service.d/10-ouvroir.conf"),
        );
        const execStart = (unit: string): string =>
            (files.find((f) => f.path.includes(`/${unit}.service.d/`))?.content ?? "")
                .split("\n")
                .filter((l) => l.startsWith("ExecStart=/"))
                .join("\n");
        expect(execStart("prometheus")).toContain("--web.listen-address=127.0.0.1:9090");
        expect(execStart("prometheus")).toContain("--storage.tsdb.path=/srv/data/prometheus");
        expect(execStart("prometheus-alertmanager")).toMatch(
            /--web\.listen-address=127\.0\.0\.1:9093 --cluster\.listen-address= /,
        );
        expect(execStart("prometheus-blackbox-exporter")).toContain(
            "--web.listen-address=127.0.0.1:9115",
        );
        expect(execStart("prometheus-node-exporter")).toContain(
            "--web.listen-address=127.0.0.1:9100",
        );
    });
});

describe("every VM's node exporter", () => {
    it("listens on the private network on private roles, on the loopback on the monitoring host", () => {
        expect(nodeExporterListen("web")).toBe("127.0.0.1:9100");
        for (const role of ["xmldb", "iiif", "app", "sandbox"] as const)
            expect(nodeExporterListen(role)).toBe(":9100");
    });

    it("is open in the host firewall to the monitoring host's address only", () => {
        const app = exampleInput("app");
        expect(firewallRules(app).filter((l) => l.includes("9100"))).toEqual([
            `        ip saddr { ${app.upstreams.web} } tcp dport 9100 accept comment "node-exporter"`,
        ]);
        expect(firewallRules(exampleInput("web")).join("\n")).not.toContain("9100");
    });

    it("reports the role's own units besides the base ones", () => {
        expect(unitInclude("xmldb")).toBe(
            "(ssh[.]service|chrony[.]service|fail2ban[.]service|prometheus-node-exporter[.]service|basex[.]service|basex-rest-gateway[.]service)",
        );
        const doc = buildCloudConfig(exampleInput("xmldb"));
        const dropIn = (doc["write_files"] as { path: string; content?: string }[]).find(
            (f) =>
                f.path === "/etc/systemd/system/prometheus-node-exporter.service.d/10-ouvroir.conf",
        );
        expect(dropIn?.content).toContain(
            `--collector.systemd.unit-include=${unitInclude("xmldb")}`,
        );
        expect(dropIn?.content).toContain("--web.listen-address=:9100");
    });
});

describe("ouvroir:alerts", () => {
    it("accepts the relay's settings and refuses, naming the key, what would reach YAML badly", () => {
        expect(validateAlertSettings({})).toEqual([]);
        expect(
            validateAlertSettings({
                email: {
                    to: ["a@example.org"],
                    from: "b@example.org",
                    smarthost: "smtp.example.org:25",
                },
            }),
        ).toEqual([]);
        expect(
            validateAlertSettings({
                email: {
                    to: ["a@example.org\nbcc: x@evil.example"],
                    from: "b@example.org', x",
                    smarthost: "$(id):25",
                    username: "u;v",
                    requireTls: "yes",
                },
                webhook: "https://x",
                pager: true,
            }),
        ).toEqual([
            "ouvroir:alerts.pager is not an alert setting; use email, webhook.",
            "ouvroir:alerts.webhook must be true or false (the URL is the secret ouvroir:alertWebhookUrl).",
            'ouvroir:alerts.email.to must be one or more e-mail addresses (e.g. ["operateur@umontreal.ca"]).',
            "ouvroir:alerts.email.from must be an e-mail address the relay accepts as sender.",
            "ouvroir:alerts.email.smarthost must be the SMTP relay as host:port (e.g. smtp.umontreal.ca:587): the Alliance forbids running a mail server.",
            "ouvroir:alerts.email.username must be the relay's login (letters, digits, . _ @ + -).",
            "ouvroir:alerts.email.requireTls must be true or false.",
        ]);
    });

    it("a login without its password, or a webhook without its URL, fails the preview", () => {
        const email = {
            to: ["a@example.org"],
            from: "b@example.org",
            smarthost: "smtp.example.org:587",
        };
        expect(problemsOf("dev", { ...devRaw(), alerts: { email } })).toEqual([]);
        expect(
            problemsOf("dev", {
                ...devRaw(),
                alerts: { email: { ...email, username: "u" }, webhook: true },
            }),
        ).toEqual([
            "ouvroir:alertSmtpPassword is not set (alerts.email.username is set: the relay's password): pulumi config set --secret ouvroir:alertSmtpPassword ...",
            "ouvroir:alertWebhookUrl is not set (alerts.webhook is true: its URL): pulumi config set --secret ouvroir:alertWebhookUrl ...",
        ]);
        expect(
            problemsOf("dev", {
                ...devRaw(),
                alerts: { email: { ...email, username: "u" } },
                alertSmtpPassword: "(secret)",
            }),
        ).toEqual([]);
    });
});

describe("the receivers' secrets", () => {
    it("travel in the web server's day-2 push only, 0600, never in user data", async () => {
        const { records } = await runProgram("prod");
        const web = records.find((r) => r.name === "web-vm");
        const push = records.find((r) => r.name === "web-day2-apply");
        const app = records.find((r) => r.name === "app-day2-apply");
        const userData = String((await resolved(web!)).userData);
        expect(userData).not.toContain("test-smtp-password");
        expect(
            Buffer.from(
                userData.match(/[A-Za-z0-9+/=]{200,}/g)?.join("") ?? "",
                "base64",
            ).toString(),
        ).not.toContain("test-smtp-password");
        const stdin = String((await resolved(push!)).stdin);
        const b64 = Buffer.from("test-smtp-password", "utf8").toString("base64");
        expect(stdin).toContain(
            `(umask 077 && put '/etc/ouvroir/monitoring/secrets/smtp-password' '0600' '${b64}')`,
        );
        // prod has no webhook: its URL (set in the mocks) is not written, and a stale one goes.
        expect(stdin).toContain("rm -f /etc/ouvroir/monitoring/secrets/webhook-url");
        expect(String((await resolved(app!)).stdin)).not.toContain("monitoring/secrets");
    }, 60_000);

    it("are written 0600 on the first push, and Alertmanager restarted only when they changed", () => {
        // The fragment run by bash as day-2 runs it, its directory moved to a scratch one and
        // systemctl a stand-in that logs its calls.
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-alert-secrets-"));
        const dir = path.join(root, "secrets");
        const bin = path.join(root, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(
            path.join(bin, "systemctl"),
            `#!/bin/sh\necho "$*" >>'${root}/systemctl.log'\n`,
            { mode: 0o755 },
        );
        const push = (secrets: Parameters<typeof renderAlertSecretsSetup>[0]) => {
            const script = renderAlertSecretsSetup(secrets).split(ALERT_SECRETS_DIR).join(dir);
            // On stdin, as day-2 pushes it (`bash -s`); --norc: Node's stdio is a socket, which
            // bash takes for a remote shell's and would read root's ~/.bashrc.
            const r = spawnSync("bash", ["--norc", "-s"], {
                input: script,
                encoding: "utf8",
                env: { PATH: `${bin}:${process.env.PATH ?? ""}` },
            });
            const log = path.join(root, "systemctl.log");
            const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
            fs.rmSync(log, { force: true });
            const files = fs.existsSync(dir)
                ? fs.readdirSync(dir).map((f) => {
                      const st = fs.statSync(path.join(dir, f));
                      return `${f} ${(st.mode & 0o777).toString(8)} ${fs.readFileSync(path.join(dir, f), "utf8")}`;
                  })
                : [];
            return { code: r.status, stderr: r.stderr, restarts: calls, files };
        };
        const restart = "restart prometheus-alertmanager.service\n";
        const password = "pw '$(x)' #";
        try {
            // Nothing set, nothing there: nothing to do.
            expect(push({})).toEqual({ code: 0, stderr: "", restarts: "", files: [] });
            // The first push with secrets (the directory empty: it ended the push before).
            expect(push({ smtpPassword: password, webhookUrl: "https://hooks.test/T0K" })).toEqual({
                code: 0,
                stderr: "",
                restarts: restart,
                files: [`smtp-password 600 ${password}`, "webhook-url 600 https://hooks.test/T0K"],
            });
            expect((fs.statSync(dir).mode & 0o777).toString(8)).toBe("700");
            // The same again: no restart.
            expect(push({ smtpPassword: password, webhookUrl: "https://hooks.test/T0K" })).toEqual({
                code: 0,
                stderr: "",
                restarts: "",
                files: [`smtp-password 600 ${password}`, "webhook-url 600 https://hooks.test/T0K"],
            });
            // The webhook unset: its file goes, Alertmanager restarts.
            expect(push({ smtpPassword: password })).toEqual({
                code: 0,
                stderr: "",
                restarts: restart,
                files: [`smtp-password 600 ${password}`],
            });
            // Both unset: the directory emptied, one restart.
            expect(push({})).toEqual({ code: 0, stderr: "", restarts: restart, files: [] });
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
        expect(renderDay2Script(exampleInput("app"))).not.toContain("prometheus-alertmanager");
    });
});

describe("the sshConfig output", () => {
    it("offers Prometheus's and Alertmanager's tunnels through the bastion, nothing public", () => {
        const text = sshConfig(
            "debian",
            { name: "dev-web-1", publicIp: "206.12.0.5", role: "web" },
            [],
        );
        expect(text).toBe(
            [
                "Host dev-web-1",
                "    HostName 206.12.0.5",
                "    User debian",
                "Host dev-web-1-prometheus",
                "    HostName 206.12.0.5",
                "    User debian",
                "    LocalForward 9090 127.0.0.1:9090",
                "Host dev-web-1-alertmanager",
                "    HostName 206.12.0.5",
                "    User debian",
                "    LocalForward 9093 127.0.0.1:9093",
                "",
            ].join("\n"),
        );
    });
});

describe("ouvroir-monitoring-setup (every push runs it)", () => {
    /** A root with the configuration, a logging systemctl and an always-ready curl. */
    const setUp = (): { run: (down?: string) => string[]; root: string } => {
        const root = path.join(tmp, "setup-root");
        const stubs = path.join(tmp, "setup-bin");
        const log = path.join(tmp, "setup-systemctl.log");
        for (const d of [
            "etc/ouvroir/monitoring",
            "usr/local/lib/ouvroir",
            "usr/local/sbin",
            "etc/systemd/system/prometheus.service.d",
        ])
            fs.mkdirSync(path.join(root, d), { recursive: true });
        for (const f of [
            "prometheus.yml",
            "rules.yml",
            "blackbox.yml",
            "alertmanager-nosecrets.yml",
        ])
            fs.writeFileSync(path.join(root, "etc/ouvroir/monitoring", f), `${f}\n`);
        fs.writeFileSync(path.join(root, "usr/local/lib/ouvroir/alertmanager-config.py"), "#\n");
        fs.writeFileSync(
            path.join(root, "etc/systemd/system/prometheus.service.d/10-ouvroir.conf"),
            "[Service]\n",
        );
        fs.mkdirSync(stubs, { recursive: true });
        const stub = (file: string, body: string): void =>
            fs.writeFileSync(file, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
        stub(path.join(root, "usr/local/sbin/ouvroir-enable"), "exit 0");
        stub(path.join(stubs, "curl"), "exit 0");
        // `is-active` as systemd answers it: 0 when any unit named is active
        // (OUVROIR_TEST_DOWN lists the inactive ones).
        stub(
            path.join(stubs, "systemctl"),
            [
                `echo "$*" >>${JSON.stringify(log)}`,
                "[[ $1 == is-active ]] || exit 0",
                'for u in "$@"; do case $u in is-active|--quiet) ;; *) [[ " $OUVROIR_TEST_DOWN " == *" $u "* ]] || exit 0 ;; esac; done',
                "exit 3",
            ].join("\n"),
        );
        const run = (down = ""): string[] => {
            fs.rmSync(log, { force: true });
            execFileSync(
                "bash",
                [path.join(ROOT, "cloud-init/files/monitoring/monitoring-setup.sh")],
                {
                    env: {
                        ...process.env,
                        PATH: `${stubs}:${process.env.PATH ?? ""}`,
                        OUVROIR_ROOT: root,
                        OUVROIR_TEST_DOWN: down,
                    },
                },
            );
            return fs.existsSync(log)
                ? fs
                      .readFileSync(log, "utf8")
                      .split("\n")
                      .filter((l) => l.startsWith("restart"))
                : [];
        };
        return { run, root };
    };

    it("restarts the services when their configuration changed or one is down, never on a push that changes nothing", () => {
        const { run, root } = setUp();
        const restart = [
            "restart prometheus-blackbox-exporter.service prometheus-alertmanager.service prometheus.service",
        ];
        expect(run()).toEqual(restart); // the first setup
        expect(run()).toEqual([]); // a push that changes nothing
        fs.appendFileSync(
            path.join(root, "etc/ouvroir/monitoring/prometheus.yml"),
            "# a new site\n",
        );
        expect(run()).toEqual(restart);
        expect(run()).toEqual([]);
        fs.rmSync(path.join(root, "etc/systemd/system/prometheus.service.d/10-ouvroir.conf"));
        expect(run()).toEqual(restart); // a drop-in gone is a change too
        expect(run("prometheus.service")).toEqual(restart); // one service down, two up
        expect(run()).toEqual([]);
        expect(run("prometheus-blackbox-exporter.service")).toEqual(restart);
    });
});

describe("the textfile metrics the node exporter reads", () => {
    const read = (file: string): string => fs.readFileSync(file, "utf8");

    it("a backup run writes its outcome, a failure too, and keeps the time of the last success", () => {
        const dir = path.join(tmp, "textfile-backup");
        const state = path.join(tmp, "backup-state");
        fs.mkdirSync(dir, { recursive: true });
        fs.mkdirSync(state, { recursive: true });
        fs.writeFileSync(path.join(state, "last-success"), "2026-12-01T02:00:00Z\n");
        const write = (status: number): string => {
            execFileSync("bash", [
                "-c",
                '. "$1"; BACKUP_STATE="$2"; OUVROIR_TEXTFILE_DIR="$3" write_backup_metrics "$4"',
                "bash",
                path.join(ROOT, "cloud-init/files/backup/backup-lib.sh"),
                state,
                dir,
                String(status),
            ]);
            return read(path.join(dir, "ouvroir-backup.prom"));
        };
        const last = Date.parse("2026-12-01T02:00:00Z") / 1000;
        const failed = write(1);
        expect(failed).toMatch(/^ouvroir_backup_last_run_success 0$/m);
        expect(failed).toMatch(
            new RegExp(`^ouvroir_backup_last_success_timestamp_seconds ${last}$`, "m"),
        );
        expect(write(0)).toMatch(/^ouvroir_backup_last_run_success 1$/m);
        fs.rmSync(path.join(state, "last-success"));
        expect(write(1)).toMatch(/^ouvroir_backup_last_success_timestamp_seconds 0$/m);
        const lint = spawnSync(path.join(bin, "promtool"), ["check", "metrics"], {
            input: write(0),
            encoding: "utf8",
        });
        expect([lint.status, lint.stdout + lint.stderr]).toEqual([0, ""]);
    });

    it("the backup's every run sets the trap before reading its settings (missing keys are reported)", () => {
        const script = read(path.join(ROOT, "cloud-init/files/backup/ouvroir-backup.sh"));
        const trap = script.indexOf(`[[ "$cmd" == run ]] && trap 'write_backup_metrics $?' EXIT`);
        expect(trap).toBeGreaterThan(0);
        expect(trap).toBeLessThan(script.indexOf("    load_backup_config"));
    });

    it("node-metrics: a reboot asked for, security updates pending, each researcher's Docker", () => {
        const dir = path.join(tmp, "textfile-node");
        fs.mkdirSync(dir, { recursive: true });
        const researchers = path.join(tmp, "researchers");
        fs.writeFileSync(researchers, "alice 100 1024\nx;y 1 1\n");
        const reboot = path.join(tmp, "reboot-required");
        fs.writeFileSync(reboot, "*** System restart required ***\n");
        const aptInput = path.join(tmp, "dpkg-status");
        fs.writeFileSync(aptInput, "");
        const state = path.join(tmp, "state", "node-metrics-apt");
        const run = (): string => {
            execFileSync("bash", [path.join(ROOT, "cloud-init/files/base/node-metrics.sh"), dir], {
                env: {
                    ...process.env,
                    OUVROIR_RESEARCHERS_FILE: researchers,
                    OUVROIR_REBOOT_FILE: reboot,
                    OUVROIR_APT_INPUTS: aptInput,
                    OUVROIR_NODE_METRICS_STATE: state,
                },
            });
            return read(path.join(dir, "ouvroir-node.prom"));
        };
        const text = run();
        expect(text).toMatch(/^ouvroir_reboot_required 1$/m);
        expect(text).toMatch(/^ouvroir_security_updates_pending \d+$/m);
        // No account alice on this machine: her Docker is reported down, not left out.
        expect(text).toMatch(/^ouvroir_service_up\{service="docker@alice"\} 0$/m);
        expect(text).not.toContain("x;y");
        const at = Number(/^ouvroir_node_metrics_timestamp_seconds (\d+)$/m.exec(text)?.[1]);
        expect(Math.abs(at - Date.now() / 1000)).toBeLessThan(60);
        const lint = spawnSync(path.join(bin, "promtool"), ["check", "metrics"], {
            input: text,
            encoding: "utf8",
        });
        expect([lint.status, lint.stdout + lint.stderr]).toEqual([0, ""]);
        fs.rmSync(reboot);
        expect(run()).toMatch(/^ouvroir_reboot_required 0$/m);
        expect(fs.readdirSync(dir)).toEqual(["ouvroir-node.prom"]);
        // The count is kept while apt's inputs stay as they were, and made again when they change.
        const seen = String(Math.floor(fs.statSync(aptInput).mtimeMs / 1000));
        expect(read(state)).toMatch(new RegExp(`^${seen} \\d+\n$`));
        fs.writeFileSync(state, `${seen} 987654\n`);
        expect(run()).toMatch(/^ouvroir_security_updates_pending 987654$/m);
        const later = new Date(Date.now() + 5000);
        fs.utimesSync(aptInput, later, later);
        expect(run()).not.toMatch(/^ouvroir_security_updates_pending 987654$/m);
        expect(read(state)).not.toContain("987654");
    });
});

describe("what the README's Operating section says", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

    it("its alerts table is the rules' (npm run config:docs)", () => {
        expect(withAlertsTable(readme)).toBe(readme);
        for (const a of ALERTS) expect(readme).toContain(`| ${a.name} | ${a.severity} |`);
    });

    it("scrapes every 30 s and keeps 30 days, 2 GB at most, on the web server's data volume", () => {
        const doc = YAML.parse(renderPrometheusConfig(webInput)) as {
            global: Record<string, string>;
        };
        expect(doc.global).toEqual({ scrape_interval: "30s", evaluation_interval: "30s" });
        const dropIn = (
            buildCloudConfig(webInput)["write_files"] as { path: string; content?: string }[]
        ).find((f) => f.path === "/etc/systemd/system/prometheus.service.d/10-ouvroir.conf");
        expect(dropIn?.content).toContain(
            "--storage.tsdb.path=/srv/data/prometheus --storage.tsdb.retention.time=30d --storage.tsdb.retention.size=2GB",
        );
    });

    it("the quota report says what monitoring costs: nothing of its own", async () => {
        const { outputs } = await runProgram("dev");
        expect(outputs.quota as Record<string, unknown>).toMatchObject({
            monitoring: MONITORING_QUOTA_NOTE,
        });
        // Not execFileSync: the event loop must run on while the CLI does (the mocks' last
        // registrations of the program above complete meanwhile).
        const { stdout: out } = await promisify(execFile)(
            "npx",
            ["--no-install", "ts-node", "--transpile-only", "tools/quota.ts"],
            { cwd: ROOT, encoding: "utf8" },
        );
        expect(out.trimEnd().endsWith(MONITORING_QUOTA_NOTE)).toBe(true);
    }, 60_000);

    it("a protected stack without ouvroir:alerts is warned at preview; prod sets them", async () => {
        const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
        const seen = (): string => warn.mock.calls.map((c) => String(c[0])).join("\n");
        await runProgram("prod");
        expect(seen()).not.toContain("ouvroir:alerts is not set");
        await runProgram("prod", { alerts: {} });
        expect(seen()).toContain(
            "ouvroir:alerts is not set: no one is told when a disk fills, a service stops or a backup fails (README, Operating).",
        );
        warn.mockRestore();
    }, 60_000);
});
