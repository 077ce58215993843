/**
 * The Debian packages the program installs, on either release it supports: every `packages:`
 * list of the templates (base, each role, each variant), the packages scripts fetch by name, and
 * restic (day-2's backup step). `npm run debian:packages` writes their versions in Debian 12 and
 * 13, read from the mirror's indexes, to tests/unit/fixtures/debian-packages.json; the unit test
 * (tests/unit/debianReleases.test.ts) checks that each exists in both and that the file lists
 * exactly these names (a package added without regenerating the file fails it).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { CLOUD_INIT_DIR } from "../../components/userData";

export const FIXTURE = path.join(__dirname, "..", "unit", "fixtures", "debian-packages.json");

/** The releases the program supports: image pattern default first. */
export const RELEASES = { "13": "trixie", "12": "bookworm" } as const;
export type Release = keyof typeof RELEASES;

/** Installed by name outside any `packages:` list: the file that does it. */
export const SCRIPTED_PACKAGES: Record<string, string> = {
    restic: "components/backup.ts (day-2's backup step)",
    bzip2: "components/backup.ts (unpacks an upstream restic, downloads.restic)",
    basex: "cloud-init/files/xmldb/basex-install-debian.sh (packageSource debian: apt-get download)",
    "docker-cli": "cloud-init/files/sandbox/sandbox-setup.sh (Debian 13: the docker command)",
};

/** Scripted packages that exist in one release only (the script installs them only there). */
export const RELEASE_ONLY: Record<string, Release> = { "docker-cli": "13" };

function collect(node: unknown, into: Set<string>): void {
    if (Array.isArray(node)) {
        for (const n of node) collect(n, into);
    } else if (node !== null && typeof node === "object") {
        for (const [k, v] of Object.entries(node)) {
            if (k === "packages" && Array.isArray(v)) {
                for (const p of v) if (typeof p === "string") into.add(p);
            } else collect(v, into);
        }
    }
}

/** Every package name the templates and scripts install, sorted. */
export function wantedPackages(dir: string = CLOUD_INIT_DIR): string[] {
    const names = new Set<string>(Object.keys(SCRIPTED_PACKAGES));
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")))
        collect(YAML.parse(fs.readFileSync(path.join(dir, f), "utf8")), names);
    return [...names].sort();
}

export interface PackageFixture {
    readonly generated: string;
    readonly mirror: string;
    readonly releases: Record<
        Release,
        { suites: string[]; packages: Record<string, string | null> }
    >;
}

/** The highest version of each name across a release's suites (main, -updates, -security). */
function versions(
    mirror: string,
    suites: string[],
    names: string[],
): Record<string, string | null> {
    const found: Record<string, string[]> = {};
    for (const suite of suites) {
        const base = suite.endsWith("-security")
            ? mirror.replace(/\/debian$/, "/debian-security")
            : mirror;
        const url = `${base}/dists/${suite}/main/binary-amd64/Packages.xz`;
        const text = execFileSync(
            "bash",
            ["-c", `curl -fsS --retry 3 ${JSON.stringify(url)} | xz -dc`],
            {
                encoding: "utf8",
                maxBuffer: 1 << 30,
            },
        );
        for (const stanza of text.split("\n\n")) {
            const name = /^Package: (\S+)$/m.exec(stanza)?.[1];
            const version = /^Version: (\S+)$/m.exec(stanza)?.[1];
            if (name && version && names.includes(name)) (found[name] ??= []).push(version);
        }
    }
    const cmp = (a: string, b: string): number => {
        try {
            execFileSync("dpkg", ["--compare-versions", a, "gt", b]);
            return 1;
        } catch {
            return -1;
        }
    };
    return Object.fromEntries(names.map((n) => [n, found[n] ? found[n].sort(cmp).pop()! : null]));
}

if (require.main === module) {
    const mirror = process.argv[2] ?? "http://deb.debian.org/debian";
    const names = wantedPackages();
    const releases = Object.fromEntries(
        (Object.entries(RELEASES) as [Release, string][]).map(([r, suite]) => {
            const suites = [suite, `${suite}-updates`, `${suite}-security`];
            return [r, { suites, packages: versions(mirror, suites, names) }];
        }),
    ) as PackageFixture["releases"];
    const fixture: PackageFixture = {
        generated: new Date().toISOString().slice(0, 10),
        mirror,
        releases,
    };
    fs.writeFileSync(FIXTURE, JSON.stringify(fixture, null, 2) + "\n");
    process.stdout.write(
        `${FIXTURE}: ${names.length} packages in Debian ${Object.keys(RELEASES).join(" and ")}\n`,
    );
}
