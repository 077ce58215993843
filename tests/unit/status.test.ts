// `npm run status` (tools/status.ts) without a cloud: the stack's outputs read, the bastion's
// answers (Prometheus's and Alertmanager's JSON, as their APIs give them) turned into a report
// for a person, and a bastion that cannot be reached said so, with what is deployed. Does not
// prove that the script gets those answers from a real Prometheus (tests/vm/roles.test.ts runs
// it on the web server guest).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    askBastion,
    formatStatus,
    main,
    parseAnswers,
    QUERIES,
    remoteScript,
    stackView,
} from "../../tools/status";

const OUTPUTS = {
    bastion: "206.12.90.7",
    privateIps: { web: "10.30.0.10", iiif: "10.30.0.12", app: "10.30.0.13" },
    sshConfig: "Host prod-web-1\n    HostName 206.12.90.7\n    User debian\n",
    endpoints: { web: "https://ouvroir.example.org/", iiif: "https://ouvroir.example.org/iiif/3/" },
    knownHosts: "206.12.90.7 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\n",
};
const view = stackView("prod", OUTPUTS);
/** The report's last lines: the stack's URLs from its outputs. */
const URL_LINES = [
    "URLs:",
    "  web: https://ouvroir.example.org/",
    "  iiif: https://ouvroir.example.org/iiif/3/",
    "",
];
const t = 1_796_000_000;
const sample = (role: string, value: number, extra: Record<string, string> = {}) => ({
    metric: { role, ...extra },
    value: [t, String(value)],
});
const result = (...s: object[]) => ({
    status: "success",
    data: { resultType: "vector", result: s },
});
const ANSWERS = parseAnswers(
    [
        JSON.stringify({
            name: "up",
            answer: result(sample("web", 1), sample("iiif", 1), sample("app", 0)),
        }),
        JSON.stringify({ name: "data", answer: result(sample("web", 0.12), sample("iiif", 0.91)) }),
        JSON.stringify({
            name: "dataSize",
            answer: result(sample("web", 20e9), sample("iiif", 500e9)),
        }),
        JSON.stringify({ name: "boot", answer: result(sample("web", 0.41), sample("iiif", 0.3)) }),
        JSON.stringify({
            name: "lastBackup",
            answer: result(sample("iiif", t - 5 * 3600), sample("web", 0)),
        }),
        JSON.stringify({ name: "lastRun", answer: result(sample("iiif", 1), sample("web", 0)) }),
        JSON.stringify({
            name: "probes",
            answer: result(
                sample("web", 1, { probe: "site lab (lab.example.org)" }),
                sample("app", 0, { probe: "app sql" }),
            ),
        }),
        JSON.stringify({
            name: "alerts",
            answer: [
                {
                    labels: { alertname: "HostDown", severity: "critical", role: "app" },
                    annotations: {
                        summary:
                            "The app server (10.30.0.13:9100) does not answer the monitoring host.",
                    },
                },
            ],
        }),
        "Linux prod-web-1 banner, not JSON",
    ].join("\n"),
);

describe("npm run status", () => {
    it("reads the roles, the bastion, its user and pinned key from the stack's outputs", () => {
        expect(view).toEqual({
            stack: "prod",
            bastion: "206.12.90.7",
            adminUser: "debian",
            roles: ["web", "iiif", "app"],
            endpoints: OUTPUTS.endpoints,
            knownHosts: OUTPUTS.knownHosts,
        });
        expect(() => stackView("dev", {})).toThrow(
            "stack dev has no bastion or privateIps output: is it deployed (pulumi up)?",
        );
    });

    it("prints each role's state, volumes and last backup, the failing probes and the alerts firing", () => {
        expect(formatStatus(view, ANSWERS, new Date(t * 1000))).toBe(
            [
                "Stack prod: bastion 206.12.90.7 (web server)",
                "",
                "role  monitored  data volume                                           boot disk  last backup",
                "web   up         12 % of 20 GB                                         41 %       never, LAST RUN FAILED",
                "iiif  up         91 % of 500 GB: grow ouvroir:roles.iiif.dataVolumeGb  30 %       2026-11-29 19:53 UTC (5 h ago)",
                "app   DOWN       -                                                     -          none set up",
                "",
                "Probes: 1 of 2 answer; failing: app sql.",
                "Alerts firing (1; what to do: README, Operating):",
                "  [critical] HostDown: The app server (10.30.0.13:9100) does not answer the monitoring host.",
                "",
                ...URL_LINES,
            ].join("\n"),
        );
    });

    it("a bastion that cannot be reached: says why and what to do, and lists what is deployed", () => {
        const local = { ...view, bastion: "127.0.0.1" };
        const why = askBastion(local, ["-p", "1"]);
        expect(why).toMatch(
            /^ssh to debian@127\.0\.0\.1 exited 255: .*port 1: Connection refused$/,
        );
        expect(formatStatus(local, undefined, new Date(), why as string)).toBe(
            [
                "Stack prod: bastion 127.0.0.1 (web server)",
                "",
                `The monitoring host cannot be asked: ${why as string}.`,
                "Run this from a network in ouvroir:adminCidrs with the operators' SSH key (or agent); if the",
                "web server itself is down, open its console log in the dashboard (README, Operating).",
                "",
                "Deployed (from the stack's outputs, health unknown):",
                "  web",
                "  iiif",
                "  app",
                "",
                ...URL_LINES,
            ].join("\n"),
        );
    });

    it("the bastion runs fixed text only: every query, and nothing from the stack", () => {
        const script = remoteScript();
        for (const q of Object.values(QUERIES)) expect(script).toContain(q);
        expect(script).toContain("http://127.0.0.1:9093/api/v2/alerts?active=true");
        for (const v of [OUTPUTS.bastion, "10.30.0", "prod"]) expect(script).not.toContain(v);
    });

    it("the script's answers parse as the APIs give them: Alertmanager's line end, a pretty-printed answer, one that fails", () => {
        // A curl stand-in answering as the bastion's services do: Prometheus's JSON without a
        // line end, Alertmanager's with one (as go-openapi writes it), the boot query
        // pretty-printed, and the data query as a refused connection (curl's exit 7).
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-status-"));
        try {
            fs.writeFileSync(
                path.join(dir, "curl"),
                [
                    "#!/bin/sh",
                    'case "$*" in',
                    '  *9093/api/v2/alerts*) printf \'[{"labels":{"alertname":"ServiceDown","severity":"critical"},"annotations":{"summary":"down"}}]\\n\' ;;',
                    '  *"query=1 - node_filesystem_avail_bytes{mountpoint=\\"/srv/data\\"}"*) exit 7 ;;',
                    '  *"query=1 - node_filesystem_avail_bytes{mountpoint=\\"/\\"}"*) printf \'{\\n  "status": "success",\\n  "data": {"result": []}\\n}\\n\' ;;',
                    '  *9090/api/v1/query*) printf \'{"status":"success","data":{"result":[{"metric":{"role":"web"},"value":[1,"1"]}]}}\' ;;',
                    "  *) exit 2 ;;",
                    "esac",
                ].join("\n") + "\n",
                { mode: 0o755 },
            );
            const out = execFileSync("sh", ["-s"], {
                input: remoteScript(),
                encoding: "utf8",
                env: { PATH: `${dir}:${process.env.PATH ?? ""}` },
            });
            const answers = parseAnswers(out);
            expect(Object.keys(answers)).toEqual([...Object.keys(QUERIES), "alerts"]);
            expect(answers.alerts).toEqual([
                {
                    labels: { alertname: "ServiceDown", severity: "critical" },
                    annotations: { summary: "down" },
                },
            ]);
            expect(answers.data).toBeNull();
            expect(answers.boot).toEqual({ status: "success", data: { result: [] } });
            expect(answers.up).toEqual({
                status: "success",
                data: { result: [{ metric: { role: "web" }, value: [1, "1"] }] },
            });
            const report = formatStatus({ ...view, roles: ["web"] }, answers, new Date());
            expect(report).toContain("Alerts firing (1; what to do: README, Operating):");
            expect(report).toContain("  [critical] ServiceDown: down");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses a stack name that is not one, and reads saved outputs", () => {
        const err = jest.spyOn(console, "error").mockImplementation(() => undefined);
        expect(main(["../x"])).toBe(2);
        expect(main(["prod", "--outputs", path.join(__dirname, "no-such-file.json")])).toBe(2);
        expect(err.mock.calls.map((c) => String(c[0]).split("\n")[0])).toEqual([
            'status: "../x" is not a stack name',
            expect.stringMatching(/^status: ENOENT/),
        ]);
        err.mockRestore();
    });
});
