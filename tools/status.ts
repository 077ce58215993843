/**
 * `npm run status -- <stack>`: what is deployed and how healthy it is, for a person. The stack's
 * outputs (the pulumi CLI's `stack output`) give the roles, addresses and URLs; one SSH
 * connection to the bastion (the monitoring host) asks its Prometheus and Alertmanager, on their
 * loopback, for each host's state, volume use, last backup, the probes and the alerts firing.
 * When the bastion cannot be reached, it says so and why, and still prints what is deployed.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MONITORING_PORTS } from "../components/roles";

const USAGE = `usage: npm run status -- <stack> [--outputs FILE]

Prints each role of the stack with its URLs, whether the monitoring host reaches it, its data
volume and boot disk use, its last off-site backup, the probes that fail and the alerts firing.
Reads the stack's outputs with the pulumi CLI (or FILE, from \`pulumi stack output --json\`), then
asks the web server's Prometheus and Alertmanager over SSH (your key or agent, from a network in
ouvroir:adminCidrs).`;

/** What status reads of the stack's outputs. */
export interface StackView {
    readonly stack: string;
    readonly bastion: string;
    readonly adminUser: string;
    readonly roles: readonly string[];
    readonly endpoints: Readonly<Record<string, string>>;
    readonly knownHosts: string;
}

/** Pure: the stack outputs → what status needs (a clear error when they are not a stack's). */
export function stackView(stack: string, outputs: Record<string, unknown>): StackView {
    const bastion = outputs.bastion;
    const ips = outputs.privateIps as Record<string, string> | undefined;
    if (typeof bastion !== "string" || bastion === "" || !ips)
        throw new Error(
            `stack ${stack} has no bastion or privateIps output: is it deployed (pulumi up)?`,
        );
    const user = /^\s+User (\S+)$/m.exec(String(outputs.sshConfig ?? ""))?.[1] ?? "debian";
    return {
        stack,
        bastion,
        adminUser: user,
        roles: Object.keys(ips),
        endpoints: (outputs.endpoints as Record<string, string> | undefined) ?? {},
        knownHosts: typeof outputs.knownHosts === "string" ? outputs.knownHosts : "",
    };
}

/** The queries the bastion answers, by name (Prometheus's instant queries). */
export const QUERIES: Readonly<Record<string, string>> = {
    up: 'up{job="node"}',
    data: '1 - node_filesystem_avail_bytes{mountpoint="/srv/data"} / node_filesystem_size_bytes{mountpoint="/srv/data"}',
    dataSize: 'node_filesystem_size_bytes{mountpoint="/srv/data"}',
    boot: '1 - node_filesystem_avail_bytes{mountpoint="/"} / node_filesystem_size_bytes{mountpoint="/"}',
    lastBackup: "ouvroir_backup_last_success_timestamp_seconds",
    lastRun: "ouvroir_backup_last_run_success",
    probes: "probe_success",
};

/**
 * The script run on the bastion (`sh -s`): one JSON object per line, `{"name": …, "answer": …}`
 * for each query, then Alertmanager's active alerts (`null` when one does not answer). The
 * answers' line ends are removed (Alertmanager ends its JSON with one; a JSON text has none
 * inside its strings). Only fixed text: no value from the stack.
 */
export function remoteScript(): string {
    const lines = [
        "set -u",
        "ask() {",
        "    name=$1; shift",
        "    if a=$(curl -sf --max-time 20 \"$@\"); then a=$(printf '%s' \"$a\" | tr -d '\\r\\n'); else a=; fi",
        '    [ -n "$a" ] || a=null',
        '    printf \'{"name":"%s","answer":%s}\\n\' "$name" "$a"',
        "}",
    ];
    for (const [name, q] of Object.entries(QUERIES)) {
        const quoted = `'query=${q.replace(/'/g, "'\\''")}'`;
        lines.push(
            `ask ${name} -G http://127.0.0.1:${MONITORING_PORTS.prometheus}/api/v1/query --data-urlencode ${quoted}`,
        );
    }
    lines.push(
        `ask alerts 'http://127.0.0.1:${MONITORING_PORTS.alertmanager}/api/v2/alerts?active=true&silenced=false&inhibited=false'`,
    );
    return lines.join("\n") + "\n";
}

type Sample = { metric: Record<string, string>; value: [number, string] };
export type Answers = Readonly<Record<string, unknown>>;

/** Pure: the script's output → answers by name (a line that is not JSON is ignored). */
export function parseAnswers(out: string): Answers {
    const answers: Record<string, unknown> = {};
    for (const line of out.split("\n")) {
        try {
            const o = JSON.parse(line) as { name: string; answer: unknown };
            answers[o.name] = o.answer;
        } catch {
            // not one of ours (a login banner)
        }
    }
    return answers;
}

function samples(answers: Answers, name: string): Sample[] {
    const a = answers[name] as { data?: { result?: Sample[] } } | null | undefined;
    return a?.data?.result ?? [];
}

const pct = (v: number): string => `${Math.round(v * 100)} %`;

/** Pure: the report for a person. `reachError`: why the bastion could not be asked. */
export function formatStatus(
    view: StackView,
    answers: Answers | undefined,
    now: Date,
    reachError?: string,
): string {
    const out = [`Stack ${view.stack}: bastion ${view.bastion} (web server)`];
    if (!answers) {
        out.push(
            "",
            `The monitoring host cannot be asked: ${reachError ?? "no answer"}.`,
            "Run this from a network in ouvroir:adminCidrs with the operators' SSH key (or agent); if the",
            "web server itself is down, open its console log in the dashboard (README, Operating).",
            "",
            "Deployed (from the stack's outputs, health unknown):",
        );
        for (const role of view.roles) out.push(`  ${role}`);
        out.push("", "URLs:", ...Object.entries(view.endpoints).map(([k, v]) => `  ${k}: ${v}`));
        return out.join("\n") + "\n";
    }
    const byRole = (name: string): Map<string, number> =>
        new Map(samples(answers, name).map((s) => [s.metric.role ?? "?", Number(s.value[1])]));
    const up = byRole("up");
    const data = byRole("data");
    const size = byRole("dataSize");
    const boot = byRole("boot");
    const last = byRole("lastBackup");
    const run = byRole("lastRun");
    const rows: string[][] = [["role", "monitored", "data volume", "boot disk", "last backup"]];
    for (const role of view.roles) {
        const u = up.get(role);
        const d = data.get(role);
        const s = size.get(role);
        const backup = last.get(role);
        const ok = run.get(role);
        rows.push([
            role,
            u === undefined ? "not scraped" : u === 1 ? "up" : "DOWN",
            d === undefined
                ? "-"
                : `${pct(d)} of ${s !== undefined ? `${(s / 1e9).toFixed(0)} GB` : "?"}${d >= 0.85 ? `: grow ouvroir:roles.${role}.dataVolumeGb` : ""}`,
            boot.has(role) ? pct(boot.get(role) as number) : "-",
            backup === undefined
                ? "none set up"
                : `${backup === 0 ? "never" : `${new Date(backup * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC (${((now.getTime() / 1000 - backup) / 3600).toFixed(0)} h ago)`}${ok === 0 ? ", LAST RUN FAILED" : ""}`,
        ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    out.push(
        "",
        ...rows.map((r) =>
            r
                .map((c, i) => c.padEnd(widths[i] ?? 0))
                .join("  ")
                .trimEnd(),
        ),
    );
    const probes = samples(answers, "probes");
    const failing = probes.filter((p) => p.value[1] !== "1").map((p) => p.metric.probe ?? "?");
    out.push(
        "",
        `Probes: ${probes.length - failing.length} of ${probes.length} answer${failing.length > 0 ? `; failing: ${failing.join(", ")}` : ""}.`,
    );
    const alerts =
        (answers.alerts as
            { labels: Record<string, string>; annotations?: Record<string, string> }[] | null) ??
        null;
    if (alerts === null)
        out.push("Alerts: Alertmanager did not answer (ServiceDown for it on the web server?).");
    else if (alerts.length === 0) out.push("Alerts firing: none.");
    else {
        out.push(`Alerts firing (${alerts.length}; what to do: README, Operating):`);
        for (const a of alerts)
            out.push(
                `  [${a.labels.severity ?? "?"}] ${a.labels.alertname ?? "?"}: ${a.annotations?.summary ?? ""}`.trimEnd(),
            );
    }
    out.push("", "URLs:", ...Object.entries(view.endpoints).map(([k, v]) => `  ${k}: ${v}`));
    return out.join("\n") + "\n";
}

/** The stack's outputs: from FILE, or the pulumi CLI (`pulumi stack output --json`). */
function readOutputs(stack: string, file?: string): Record<string, unknown> {
    const text = file
        ? fs.readFileSync(file, "utf8")
        : execFileSync("pulumi", ["stack", "output", "--json", "--stack", stack], {
              encoding: "utf8",
              stdio: ["ignore", "pipe", "inherit"],
          });
    return JSON.parse(text) as Record<string, unknown>;
}

/** Asks the bastion; returns its answers or why it could not. */
export function askBastion(view: StackView, sshArgs: readonly string[] = []): Answers | string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-status-"));
    try {
        const known = path.join(dir, "known_hosts");
        fs.writeFileSync(known, view.knownHosts);
        const r = spawnSync(
            "ssh",
            [
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=15",
                "-o",
                `UserKnownHostsFile=${known}`,
                // Pinned keys from the stack's output; a stack without them trusts on first use.
                "-o",
                `StrictHostKeyChecking=${view.knownHosts.trim() === "" ? "accept-new" : "yes"}`,
                ...sshArgs,
                `${view.adminUser}@${view.bastion}`,
                "sh -s",
            ],
            { input: remoteScript(), encoding: "utf8", timeout: 90_000 },
        );
        if (r.error) return `ssh: ${r.error.message}`;
        if (r.status !== 0)
            return `ssh to ${view.adminUser}@${view.bastion} exited ${r.status}: ${r.stderr.trim().split("\n").pop() ?? ""}`;
        const answers = parseAnswers(r.stdout);
        if (answers.up === null || answers.up === undefined)
            return "Prometheus did not answer on the web server (ServiceDown: prometheus.service?)";
        return answers;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

export function main(argv: readonly string[]): number {
    const args = [...argv];
    if (args.includes("--help") || args.includes("-h") || args.length === 0) {
        console.log(USAGE);
        return args.length === 0 ? 2 : 0;
    }
    const i = args.indexOf("--outputs");
    const file = i >= 0 ? args.splice(i, 2)[1] : undefined;
    const stack = args[0] as string;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(stack)) {
        console.error(`status: "${stack}" is not a stack name\n${USAGE}`);
        return 2;
    }
    let view: StackView;
    try {
        view = stackView(stack, readOutputs(stack, file));
    } catch (e) {
        console.error(`status: ${(e as Error).message}`);
        return 2;
    }
    const answers = askBastion(view);
    process.stdout.write(
        typeof answers === "string"
            ? formatStatus(view, undefined, new Date(), answers)
            : formatStatus(view, answers, new Date()),
    );
    return typeof answers === "string" ? 1 : 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
