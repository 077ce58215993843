/**
 * Writes tests/migration/fixtures/<stack>-export.json (dev by default, or the stack given):
 * what `pulumi stack export --stack <stack>` holds after a deployment of Pulumi.<stack>.yaml on
 * Béluga. The real program runs under mocks (tests/migration/harness.ts); when a Pulumi CLI is
 * at hand (PATH, or OUVROIR_PULUMI), its state goes through a real `pulumi stack import` and
 * `pulumi stack export` on a scratch file backend, so the fixture is the CLI's own format with
 * real ciphertexts (passphrase `fixture`; the secrets are mock values). Rerun after a change to
 * the program's resources:
 *   npx ts-node --transpile-only tests/migration/make-fixture.ts [dev|prod]
 * tests/migration/fixture.test.ts fails when the committed dev fixture no longer matches.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import * as prettier from "prettier";

import { BELUGA, REPO, runProgram, stackFileConfig, StackExport, withMockSecrets } from "./harness";

/** The Pulumi CLI to use (OUVROIR_PULUMI, PATH, then the engine's cache), or undefined. */
function findPulumi(): string | undefined {
    const cache = "/var/cache/ouvroir/engine";
    const cached = fs.existsSync(cache)
        ? fs
              .readdirSync(cache)
              .map((d) => path.join(cache, d, "bin", "pulumi"))
              .filter((p) => fs.existsSync(p))
        : [];
    const candidates = [process.env["OUVROIR_PULUMI"], "pulumi", ...cached].filter(
        (c): c is string => !!c,
    );
    for (const c of candidates) {
        try {
            execFileSync(c, ["version"], { stdio: "ignore" });
            return c;
        } catch {
            // not this one
        }
    }
    return undefined;
}

/** Import into a scratch stack with the real CLI and export again: the CLI's exact format. */
function throughCli(pulumi: string, stack: string, exported: StackExport): StackExport {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-fixture-"));
    try {
        fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const env = {
            ...process.env,
            PULUMI_HOME: path.join(dir, "home"),
            PULUMI_CONFIG_PASSPHRASE: "fixture",
            PULUMI_SKIP_UPDATE_CHECK: "1",
            PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        };
        fs.mkdirSync(path.join(dir, "state"));
        const run = (...args: string[]): string =>
            execFileSync(pulumi, args, { cwd: dir, env, encoding: "utf8" });
        run("stack", "init", stack, "--secrets-provider", "passphrase");
        const salt = /encryptionsalt:\s*(\S+)/.exec(
            fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8"),
        )?.[1];
        const version = exported.deployment.manifest["version"] as string;
        const input = {
            ...exported,
            deployment: {
                ...exported.deployment,
                // The CLI checks the manifest's magic (a hash of the version) and encrypts the
                // plaintext secrets with the stack's provider.
                manifest: {
                    ...exported.deployment.manifest,
                    magic: crypto.createHash("sha256").update(version).digest("hex"),
                },
                secrets_providers: { type: "passphrase", state: { salt } },
            },
        };
        fs.writeFileSync(path.join(dir, "in.json"), JSON.stringify(input));
        run("stack", "import", "--stack", stack, "--file", "in.json");
        run("stack", "export", "--stack", stack, "--file", "out.json");
        return JSON.parse(fs.readFileSync(path.join(dir, "out.json"), "utf8")) as StackExport;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function main(stack: string): Promise<void> {
    const pulumi = findPulumi();
    let exported = await runProgram(
        stack,
        withMockSecrets(stackFileConfig(path.join(REPO, `Pulumi.${stack}.yaml`))),
        BELUGA,
        pulumi ? "plaintext" : "mock-ciphertext",
    );
    for (const r of exported.deployment.resources) {
        for (const bag of [r.inputs, r.outputs]) {
            // The rendered cloud-config is 20-30 kB per VM and irrelevant to the inventory.
            if (bag && typeof bag["userData"] === "string") {
                bag["userData"] =
                    `${bag["userData"].split("\n").slice(0, 12).join("\n")}\n# … (cut in this fixture)\n`;
            }
        }
    }
    if (pulumi) exported = throughCli(pulumi, stack, exported);
    const file = path.join(__dirname, "fixtures", `${stack}-export.json`);
    // Written as the repository's formatter would (npm run format checks fixtures too).
    const options = (await prettier.resolveConfig(file)) ?? {};
    fs.writeFileSync(
        file,
        await prettier.format(JSON.stringify(exported), { ...options, parser: "json" }),
    );
    const how = pulumi
        ? `through ${execFileSync(pulumi, ["version"], { encoding: "utf8" }).trim()}`
        : "mocks only";
    console.log(`${file}: ${exported.deployment.resources.length} resources (${how})`);
}

main(process.argv[2] ?? "dev").catch((err: unknown) => {
    console.error(err);
    process.exit(1);
});
