// Does not prove the cloud's side nor MariaDB (roles.test.ts checks the apps' databases on the
// harness's MariaDB app server); the stack's secrets are fixed test values here (the program
// makes them with @pulumi/random: tests/stacks prove those resources exist).
/**
 * The apps' databases on PostgreSQL, the product's default engine, in one app server guest: at
 * first boot each declared app reads and writes its own database and is refused the other's;
 * day-2 sets the stack's secret as each password (the data stays); an app taken out of the list
 * keeps its database, its user no longer logs in; the database goes only when dropAppDatabases
 * names it too.
 */
import * as fs from "fs";
import * as path from "path";
import { BOOT_TIMEOUT_MS, bootHealthy, guest, pushDay2, TRIAL_IPS } from "../harness/bench/day2";
import { BaseImage, ensureBaseImage, ensureSshKey, Vm, VM_CACHE } from "../harness/vm/qemu";
import { defaultKeyDir, roleVm } from "../harness/vm/roleVm";
import { HARNESS_APPS } from "../harness/vm/inputs";
import type { UserDataInput } from "../../components/userData";
import { asApp, envFileOf, expectOwnDatabasesOnly } from "./appDatabases";

jest.setTimeout(BOOT_TIMEOUT_MS + 15 * 60_000);

const RUN_DIR = path.join(VM_CACHE, "runs", `appdb-${process.pid}`);
const figures: string[] = [];
let base: BaseImage;
let vm: Vm | undefined;
let input: UserDataInput;
let bootError: Error | undefined;

function current(): Vm {
    if (bootError) throw bootError;
    if (!vm?.running) throw new Error("the app server guest is not running");
    return vm;
}

/** psql as the postgres superuser, for what no app may see. */
const asPostgres = async (v: Vm, sql: string, db = "postgres"): Promise<string> =>
    (await guest(v, `sudo -u postgres psql -X -q -t -A -d ${db} -c "${sql}"`)).trim();

beforeAll(async () => {
    base = ensureBaseImage();
    fs.mkdirSync(RUN_DIR, { recursive: true });
    const keyDir = defaultKeyDir();
    const t = roleVm(
        {
            role: "app",
            name: "appdb",
            privateIp: TRIAL_IPS.appDatabases,
            workDir: RUN_DIR,
            keyDir,
            input: { sqlEngine: "postgresql" },
        },
        ensureSshKey(keyDir).publicKey,
    );
    vm = t.vm;
    input = t.input;
    try {
        const seconds = await bootHealthy(vm, base, "app");
        figures.push(`app server on PostgreSQL healthy in ${seconds.toFixed(0)} s`);
    } catch (e) {
        bootError = e as Error;
    }
});

afterAll(async () => {
    const v = vm;
    vm = undefined;
    await v?.powerOff();
    console.log(["Apps' databases (PostgreSQL, TCG):", ...figures.map((f) => `  ${f}`)].join("\n"));
    if (!process.env.OUVROIR_VM_KEEP) fs.rmSync(RUN_DIR, { recursive: true, force: true });
});

describe("the apps' databases on PostgreSQL", () => {
    it("first boot: each app reads and writes its own database and is refused the other's", async () => {
        const v = current();
        expect(HARNESS_APPS.map((a) => a.name)).toEqual(["notes", "ledger"]);
        figures.push(...(await expectOwnDatabasesOnly(v, ["notes", "ledger"])));
    });

    it("day-2 sets the stack's secret as each app's password; the data stays; a re-push changes nothing", async () => {
        const v = current();
        const secrets = {
            "appDb-notes": "StackSecretNotes0123456789",
            "appDb-ledger": "StackSecretLedger0123456789",
        };
        const t0 = Date.now();
        await pushDay2(v, input, undefined, secrets);
        figures.push(
            `day-2 with the stack's secrets in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
        );
        expect((await envFileOf(v, "notes")).text).toContain(
            "DB_PASSWORD=StackSecretNotes0123456789",
        );
        expect(await asApp(v, "notes", "SELECT n FROM visits")).toEqual({ code: 0, out: "42\n" });
        expect(await asApp(v, "ledger", "SELECT n FROM visits")).toEqual({ code: 0, out: "42\n" });
        // The secret file is root's alone; the password is in no process's arguments.
        expect((await guest(v, "sudo stat -c '%a %U' /etc/ouvroir/app-db/notes")).trim()).toBe(
            "600 root",
        );
        const env = await guest(v, "sudo sha256sum /srv/data/apps/*/app.env");
        await pushDay2(v, input, undefined, secrets);
        expect(await guest(v, "sudo sha256sum /srv/data/apps/*/app.env")).toBe(env);
    });

    it("an app taken out keeps its database, its user refused; dropAppDatabases then drops it", async () => {
        const v = current();
        const notes = HARNESS_APPS.filter((a) => a.name === "notes");
        const secrets = { "appDb-notes": "StackSecretNotes0123456789" };
        const out = await pushDay2(v, { ...input, apps: notes }, undefined, secrets);
        expect(out).toContain(
            "app-setup: app ledger taken out of the list: stopped, its database kept",
        );
        const refused = await asApp(v, "ledger", "SELECT 1");
        expect(refused.code).not.toBe(0);
        expect(refused.out).toMatch(/not permitted to log in/);
        expect(await asPostgres(v, "SELECT n FROM visits", "ledger")).toBe("42");
        expect(await asApp(v, "notes", "SELECT n FROM visits")).toEqual({ code: 0, out: "42\n" });

        const dropped = await pushDay2(
            v,
            { ...input, apps: notes, dropAppDatabases: ["ledger"] },
            undefined,
            secrets,
        );
        expect(dropped).toContain(
            "app-setup: database and user of app ledger dropped, as dropAppDatabases asks",
        );
        expect(
            await asPostgres(
                v,
                "SELECT count(*) FROM pg_database WHERE datname = 'ledger' UNION ALL SELECT count(*) FROM pg_roles WHERE rolname = 'ledger'",
            ),
        ).toBe("0\n0");
        expect(await asApp(v, "notes", "SELECT n FROM visits")).toEqual({ code: 0, out: "42\n" });
        figures.push(
            "ledger taken out: database kept, login refused; named in dropAppDatabases: dropped; notes untouched",
        );
    });
});
