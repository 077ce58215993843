// The applier's package step run by bash against this machine's own dpkg (apt-get stubbed):
// it installs exactly what is missing, with one dpkg-query, and nothing when all is there. Does
// not prove apt on a guest (tests/vm: every role's first boot and the after-deploy trial).
import { execFileSync } from "child_process";
import { renderApplier } from "../../components/applier";
import { exampleInput } from "../harness/render-user-data";

/** The applier's header (shell options, error trap) and its package step, apt-get stubbed. */
function packageStep(packages: string[]): string {
    const lines = renderApplier(exampleInput("web"), {
        packages,
        write_files: [],
        runcmd: [],
    }).split("\n");
    const from = lines.indexOf("step packages");
    const to = lines.indexOf("step files after packages");
    return [
        ...lines.slice(0, lines.indexOf("step files")),
        'apt-get() { echo "apt-get $*"; }',
        ...lines.slice(from, to),
        "echo end",
    ].join("\n");
}

const bash = (script: string): string =>
    execFileSync("bash", ["-c", script], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

describe("the applier's package step (real dpkg, apt-get stubbed)", () => {
    it("installs exactly the packages not installed, in one apt-get", () => {
        const out = bash(packageStep(["bash", "no-such-package-ouvroir", "coreutils"]));
        expect(out.split("\n").filter((l) => l.startsWith("apt-get"))).toEqual([
            "apt-get update -q",
            "apt-get install -y -q -o Dpkg::Options::=--force-confold no-such-package-ouvroir",
        ]);
        expect(out).toMatch(/end\n$/);
    });
    it("calls apt-get not at all when everything is installed (a day-2 push)", () => {
        const out = bash(packageStep(["bash", "coreutils", "dpkg"]));
        expect(out).not.toContain("apt-get");
        expect(out).toMatch(/end\n$/);
    });
    it("asks dpkg once, whatever the number of packages", () => {
        const step = packageStep(["bash", "coreutils", "dpkg", "grep"]);
        expect(step.match(/dpkg-query/g)).toHaveLength(1);
    });
});

describe("the applier's end", () => {
    it.each(["web", "xmldb", "iiif", "app", "sandbox"] as const)(
        "%s: reloads systemd once, after the last enable, so later restarts find its view current",
        (role) => {
            const lines = renderApplier(exampleInput(role), {
                packages: [],
                write_files: [],
                runcmd: [
                    ["systemctl", "daemon-reload"],
                    ["/usr/local/sbin/ouvroir-enable", "x.service"],
                    ["systemctl", "enable", "--no-reload", "y.timer"],
                ],
            })
                .trimEnd()
                .split("\n");
            expect(lines.slice(-4)).toEqual([
                "'/usr/local/sbin/ouvroir-enable' 'x.service'",
                "'systemctl' 'enable' '--no-reload' 'y.timer'",
                "systemctl daemon-reload",
                'step "done"',
            ]);
        },
    );
});
