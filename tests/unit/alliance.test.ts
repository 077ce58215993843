// Does not prove that the Alliance's clouds answer at these addresses (docs/alliance-clouds.md says
// which facts the documentation confirmed; only the cloud proves the rest), nor what the pulumi
// CLI does with a URL (tests/engine/stateBackend.test.ts runs it): only the checks' verdicts and
// that the docs, the workflows and the program follow them.
import * as fs from "fs";
import * as path from "path";
import { arbutusBackendUrl, backendUrlProblems } from "../../config/backend";
import { validateBackupSettings } from "../../components/backup";

const ROOT = path.join(__dirname, "..", "..");
const read = (f: string): string => fs.readFileSync(path.join(ROOT, f), "utf8");
const backup = {
    endpoint: "https://object-arbutus.alliancecan.ca",
    bucket: "ouvroir-backups",
    onCalendar: "daily",
    keepDaily: 7,
    keepWeekly: 4,
    keepMonthly: 12,
};

describe("the state backend's URL", () => {
    it("accepts the documented form, file:// and Pulumi Cloud", () => {
        expect(backendUrlProblems(arbutusBackendUrl("ouvroir-state"))).toEqual([]);
        expect(backendUrlProblems("file:///srv/pulumi-state")).toEqual([]);
        expect(backendUrlProblems("https://api.pulumi.com")).toEqual([]);
        expect(backendUrlProblems("")).toEqual([]);
        // The older key for path-style is still read by the CLI.
        expect(
            backendUrlProblems(
                "s3://b?endpoint=https://object-arbutus.alliancecan.ca&s3ForcePathStyle=true&region=us-east-1",
            ),
        ).toEqual([]);
    });

    it("refuses each half-written form, naming what is missing and giving the whole URL", () => {
        const fix = `use ${arbutusBackendUrl("ouvroir-state")} (docs/ci.md, step 1)`;
        expect(backendUrlProblems("s3://ouvroir-state")).toEqual([
            `the state backend s3://ouvroir-state names no endpoint: Pulumi would look for the bucket on AWS; ${fix}`,
            expect.stringContaining("does not ask for path-style addressing"),
            expect.stringContaining("names no region"),
        ]);
        expect(
            backendUrlProblems(
                "s3://ouvroir-state?endpoint=object-arbutus.alliancecan.ca&s3ForcePathStyle=true&region=us-east-1",
            ),
        ).toEqual([
            `the state backend's endpoint "object-arbutus.alliancecan.ca" has no scheme: Pulumi's S3 client (AWS SDK v2) needs https://object-arbutus.alliancecan.ca; ${fix}`,
        ]);
    });

    it("refuses legacy Arbutus, with the new endpoint as the fix", () => {
        const legacy =
            "s3://ouvroir-state?endpoint=https://object-arbutus.cloud.computecanada.ca&use_path_style=true&region=us-east-1";
        expect(backendUrlProblems(legacy)).toEqual([
            expect.stringMatching(
                /object-arbutus\.cloud\.computecanada\.ca is legacy Arbutus, decommissioned in 2026: copy the state bucket to new Arbutus and use s3:\/\/ouvroir-state\?endpoint=https:\/\/object-arbutus\.alliancecan\.ca&use_path_style=true&region=us-east-1/,
            ),
        ]);
    });

    it("every s3:// URL in the README and docs passes the check", () => {
        const urls = ["README.md", "docs/ci.md", "docs/migration.md", "docs/backup.md"].flatMap(
            (f) =>
                [...read(f).matchAll(/'(s3:\/\/[^'\s]+)'|^(s3:\/\/\S+)$/gm)].map(
                    (m) => m[1] ?? m[2],
                ),
        );
        expect(urls.length).toBeGreaterThanOrEqual(3);
        for (const url of urls)
            expect({ url, problems: backendUrlProblems(url!) }).toEqual({ url, problems: [] });
    });
});

describe("the backup endpoint", () => {
    it("accepts new Arbutus's", () => {
        expect(validateBackupSettings(backup)).toEqual([]);
    });

    it.each([
        "https://object-arbutus.cloud.computecanada.ca",
        "https://object-arbutus.cloud.computecanada.ca:443",
        "https://arbutus.cloud.computecanada.ca/",
    ])("refuses legacy Arbutus's %s with the way out", (endpoint) => {
        expect(validateBackupSettings({ ...backup, endpoint })).toEqual([
            `ouvroir:backup.endpoint: "${endpoint}" is legacy Arbutus's object storage, decommissioned in 2026: use https://object-arbutus.alliancecan.ca (new Arbutus), create the bucket there and copy the repository (docs/migration.md, "Object storage: from legacy Arbutus to new Arbutus")`,
        ]);
    });

    it("the section the message names exists", () => {
        expect(read("docs/migration.md")).toContain(
            "## Object storage: from legacy Arbutus to new Arbutus\n",
        );
    });

    it("restic addresses the bucket path-style, in every command", () => {
        const lib = read("cloud-init/files/backup/backup-lib.sh");
        expect(lib).toMatch(
            /^restic\(\) \{\n    command restic -o s3\.bucket-lookup=path "\$@"\n\}$/m,
        );
    });
});

describe("no cloud URL is hard-coded", () => {
    it("the workflows authenticate with clouds.yaml + OS_CLOUD, never OS_AUTH_URL", () => {
        const dir = path.join(ROOT, ".github", "workflows");
        for (const f of fs.readdirSync(dir)) {
            const text = fs.readFileSync(path.join(dir, f), "utf8");
            expect([
                f,
                /OS_AUTH_URL|OS_APPLICATION_CREDENTIAL|cloud\.computecanada\.ca/.test(text),
            ]).toEqual([f, false]);
            if (/pulumi\/actions/.test(text)) {
                expect([f, text]).toEqual([
                    f,
                    expect.stringContaining("OS_CLOUD: ${{ vars.OS_CLOUD || 'openstack' }}"),
                ]);
                // The file is written before the first step that talks to the cloud.
                const write = text.indexOf("secrets.OPENSTACK_CLOUDS_YAML");
                expect([f, write > 0 && write < text.indexOf("pulumi/actions")]).toEqual([f, true]);
            }
        }
    });

    it("the program and its config hold no identity URL", () => {
        const files = ["program.ts", "index.ts"].concat(
            ...["components", "components/roles", "config"].map((d) =>
                fs
                    .readdirSync(path.join(ROOT, d))
                    .filter((f) => f.endsWith(".ts"))
                    .map((f) => `${d}/${f}`),
            ),
        );
        for (const f of files)
            expect([f, /:5000\/v3|https?:\/\/identity\.|OS_AUTH_URL/.test(read(f))]).toEqual([
                f,
                false,
            ]);
    });
});
