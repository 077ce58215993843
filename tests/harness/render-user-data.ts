/**
 * Renders the user data of every role for a fixed example input, into a directory:
 * `ts-node --transpile-only tests/harness/render-user-data.ts OUT_DIR` writes
 * `<role>-<packageSource>.yaml` for the five roles and both package sources.
 * Used by tests/harness/validate-cloud-init.sh and as the unit tests' example input.
 */
import * as fs from "fs";
import * as path from "path";
import { hostKeyFromSeed } from "../../components/hostKey";
import { ROLE_NAMES, RoleName } from "../../components/roles";
import { UserDataInput, renderUserData } from "../../components/userData";

const FAKE_SHA = (c: string): string => c.repeat(64);

/** A stack with every feature on: four sites (one per kind), two researchers, all upstreams. */
export function exampleInput(
    role: RoleName,
    packageSource: UserDataInput["packageSource"] = "debian",
): UserDataInput {
    return {
        role,
        hostname: `dev-${role}-1`,
        adminUser: "debian",
        sshAuthorizedKeys: [
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOperatorKey operator@ouvroir",
        ],
        // Derived from a fixed example seed (the program's seed is a secret in the state).
        sshHostKey: hostKeyFromSeed(`example-${role}`, `${role}@example`),
        dataVolumeSerial: "0123abcd-4567-89ef-a",
        publicHostname: "ouvroir.example.org",
        letsencryptEmail: "ops@example.org",
        sites: [
            { name: "lab", domains: ["lab.example.org", "www.lab.example.org"], kind: "static" },
            {
                name: "pyapp",
                domains: ["py.example.org"],
                kind: "proxy",
                upstreamRole: "app",
                upstreamPort: 8001,
            },
            { name: "omeka", domains: ["omeka.example.org"], kind: "php" },
            {
                name: "edition",
                domains: ["edition.example.org"],
                kind: "restxq",
                paths: ["/edition/", "/static/edition/"],
            },
        ],
        upstreams: {
            web: "10.20.0.10",
            xmldb: "10.20.0.11",
            iiif: "10.20.0.12",
            app: "10.20.0.13",
            sandbox: "10.20.0.14",
        },
        researchers: [
            {
                name: "alice",
                sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleAliceKey alice@lab"],
                cpuPercent: 100,
                memoryMiB: 2048,
            },
            {
                name: "bob",
                sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleBobKey bob@lab"],
                cpuPercent: 50,
                memoryMiB: 1024,
            },
        ],
        sqlEngine: "mariadb",
        packageSource,
        downloads: {
            cantaloupe: {
                version: "5.0.7",
                url: "https://github.com/cantaloupe-project/cantaloupe/releases/download/v5.0.7/cantaloupe-5.0.7.zip",
                sha256: FAKE_SHA("a"),
            },
            basex: {
                version: "11.9",
                url: "https://files.basex.org/releases/11.9/BaseX119.zip",
                sha256: FAKE_SHA("b"),
            },
            julia: {
                version: "1.11.7",
                url: "https://julialang-s3.julialang.org/bin/linux/x64/1.11/julia-1.11.7-linux-x86_64.tar.gz",
                sha256: FAKE_SHA("c"),
            },
            saxon: {
                version: "12.9",
                url: "https://repo1.maven.org/maven2/net/sf/saxon/Saxon-HE/12.9/Saxon-HE-12.9.jar",
                sha256: FAKE_SHA("d"),
            },
        },
    };
}

function main(): void {
    const out = process.argv[2];
    if (out === undefined) {
        throw new Error("usage: render-user-data.ts OUT_DIR");
    }
    fs.mkdirSync(out, { recursive: true });
    for (const role of ROLE_NAMES) {
        for (const source of ["upstream", "debian"] as const) {
            const file = path.join(out, `${role}-${source}.yaml`);
            fs.writeFileSync(file, renderUserData(exampleInput(role, source)));
        }
    }
    const pg = { ...exampleInput("app", "upstream"), sqlEngine: "postgresql" as const };
    fs.writeFileSync(path.join(out, "app-upstream-postgresql.yaml"), renderUserData(pg));
    const bare = { ...exampleInput("web"), dataVolumeSerial: undefined, sites: [], upstreams: {} };
    fs.writeFileSync(path.join(out, "web-bare.yaml"), renderUserData(bare));
}

if (require.main === module) {
    main();
}
