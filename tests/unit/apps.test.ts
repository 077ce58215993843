// The apps' databases as config and rendering: what ouvroir:apps and dropAppDatabases accept
// (errors name the key and the fix), the files app-setup reads, and day-2 writing each app's
// password (a Pulumi secret) before the applier. Does not prove the databases, the env files nor
// the grants: tests/vm/appDatabases.test.ts (PostgreSQL) and roles.test.ts (MariaDB) do.
import { appParts, appSecrets } from "../../components/roles/app";
import { renderDay2Script } from "../../components/day2";
import type { UserDataInput } from "../../components/userData";
import { parseStackConfig, RawConfig } from "../../config";
import { devRaw, problemsOf as problemsIn } from "../harness/configProblems";
import { HOSTILE } from "../hostile";
import { exampleInput } from "../harness/render-user-data";

const dev = devRaw;
const problemsOf = (raw: RawConfig): string[] => problemsIn("dev", raw);

const input: UserDataInput = {
    role: "app",
    hostname: "dev-app-1",
    adminUser: "debian",
    sshAuthorizedKeys: ["ssh-ed25519 AAAAoperator ops"],
    publicHostname: "",
    sites: [],
    upstreams: { web: "10.20.0.10" },
    researchers: [],
    apps: [
        { name: "notes", port: 8010, database: true },
        { name: "static-api", port: 8011, database: false },
    ],
    dropAppDatabases: ["ledger"],
    sqlEngine: "postgresql",
    packageSource: "debian",
    downloads: {} as UserDataInput["downloads"],
};

describe("ouvroir:apps", () => {
    it("parses, with database true unless said otherwise", () => {
        const cfg = parseStackConfig("dev", {
            ...dev(),
            apps: [
                { name: "notes", port: 8010 },
                { name: "static-api", port: 8011, database: false },
            ],
        });
        expect(cfg.apps).toEqual([
            { name: "notes", port: 8010, database: true },
            { name: "static-api", port: 8011, database: false },
        ]);
    });

    it.each([
        [
            [{ name: "Notes", port: 8010 }],
            /^ouvroir:apps\[0\]\.name "Notes" is not a usable app name/,
        ],
        [
            [{ name: "notes", port: 8001 }],
            /^ouvroir:apps\[0\]\.port must be a whole number from 8003 to 8099/,
        ],
        [
            [
                { name: "notes", port: 8010 },
                { name: "more", port: 8010 },
            ],
            /^ouvroir:apps\[1\]\.port 8010 is already another app's\.$/,
        ],
        [
            [
                { name: "notes", port: 8010 },
                { name: "notes", port: 8011 },
            ],
            /^ouvroir:apps\[1\]\.name "notes" is a duplicate app\.$/,
        ],
        [
            [{ name: "notes", port: 8010, database: "yes" }],
            /^ouvroir:apps\[0\]\.database must be true or false\.$/,
        ],
        [[{ name: "notes", port: 8010, db: true }], /^ouvroir:apps\[0\]\.db is not a app setting/],
        ["notes", /^ouvroir:apps must be a list/],
    ])("refuses %j", (apps, message) => {
        expect(problemsOf({ ...dev(), apps })).toEqual([expect.stringMatching(message)]);
    });

    it.each(HOSTILE)("refuses a hostile name: %j", (bad) => {
        expect(problemsOf({ ...dev(), apps: [{ name: `notes${bad}`, port: 8010 }] })).toEqual([
            expect.stringMatching(/^ouvroir:apps\[0\]\.name .* is not a usable app name/s),
        ]);
    });

    it("needs the app role", () => {
        const raw = dev();
        const roles = { ...(raw.roles as Record<string, unknown>) };
        delete roles.app;
        const problems = problemsOf({ ...raw, roles, apps: [{ name: "notes", port: 8010 }] });
        expect(problems).toContain(
            "ouvroir:apps is set but the app role is not deployed: add app to ouvroir:roles.",
        );
    });
});

describe("ouvroir:dropAppDatabases", () => {
    it("drops only an app already taken out of apps: both must ask", () => {
        expect(
            problemsOf({
                ...dev(),
                apps: [{ name: "notes", port: 8010 }],
                dropAppDatabases: ["notes"],
            }),
        ).toEqual([
            "ouvroir:dropAppDatabases names notes, which ouvroir:apps still declares: take the app out of ouvroir:apps first (its database is dropped only when both ask).",
        ]);
        expect(problemsOf({ ...dev(), dropAppDatabases: ["ledger; DROP"] })).toEqual([
            'ouvroir:dropAppDatabases entry "ledger; DROP" is not an app name.',
        ]);
        expect(
            parseStackConfig("dev", { ...dev(), dropAppDatabases: ["ledger"] }).dropAppDatabases,
        ).toEqual(["ledger"]);
    });
});

describe("what the app server receives", () => {
    it("one password secret per app with a database, in root's directory", () => {
        expect(appSecrets(input)).toEqual([
            { name: "appDb-notes", path: "/etc/ouvroir/app-db/notes" },
        ]);
        expect(appSecrets({})).toEqual([]);
    });

    it("the app list and the databases to drop, one line each, for app-setup", () => {
        expect(appParts(input)).toEqual({
            write_files: [
                {
                    path: "/etc/ouvroir/apps",
                    permissions: "0644",
                    content: "notes 8010 1\nstatic-api 8011 0\n",
                },
                { path: "/etc/ouvroir/apps-drop", permissions: "0644", content: "ledger\n" },
            ],
        });
    });

    it("day-2 writes each password under umask 077 before the applier runs, and needs it", () => {
        const full: UserDataInput = { ...exampleInput("app", "debian"), apps: input.apps };
        const script = renderDay2Script(full, { "appDb-notes": "StackSecret0123" });
        const secret = `(umask 077 && put '/etc/ouvroir/app-db/notes' '0600' '${Buffer.from("StackSecret0123").toString("base64")}')`;
        expect(script).toContain(secret);
        expect(script.indexOf(secret)).toBeLessThan(
            script.indexOf("put '/usr/local/sbin/ouvroir-apply'"),
        );
        // Never in the user data: the first boot makes its own until the first push.
        expect(script.split(secret).length).toBe(2);
        expect(() => renderDay2Script(full, {})).toThrow(/secret appDb-notes missing/);
    });
});
