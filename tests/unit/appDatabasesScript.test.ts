// The app server's database step (cloud-init/files/app/app-databases.sh, as rendered) run by
// bash against stand-ins for the SQL clients, systemctl and install, its paths moved under a
// scratch directory: what it asks each engine, what it writes, and what it keeps. Does not prove
// the engines accept the SQL nor the grants' effect: the VM tests do (appDatabases.test.ts on
// PostgreSQL, roles.test.ts on MariaDB).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildCloudConfig, UserDataInput } from "../../components/userData";
import { exampleInput } from "../harness/render-user-data";

const SCRIPT = "/usr/local/sbin/ouvroir-app-databases";

function rendered(input: UserDataInput): string {
    const files = buildCloudConfig(input)["write_files"] as { path: string; content: string }[];
    const f = files.find((x) => x.path === SCRIPT);
    if (!f) throw new Error(`${SCRIPT} is not in the app server's files`);
    return f.content;
}

interface Run {
    readonly code: number;
    readonly out: string;
    /** Each client call: its arguments, then what it read on stdin. */
    readonly sql: string[];
    readonly log: string[];
    readonly files: Record<string, string>;
    readonly known: string;
}

function run(
    engine: "mariadb" | "postgresql",
    apps: string,
    drop: string,
    state: {
        known?: string;
        secrets?: Record<string, string>;
        dirs?: string[];
        /** Files already in the apps' directories, by `app/file`. */
        files?: Record<string, string>;
    } = {},
): Run {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-appdb-"));
    try {
        const script = rendered({ ...exampleInput("app", "debian"), sqlEngine: engine })
            .replaceAll("/etc/ouvroir", `${root}/etc/ouvroir`)
            .replaceAll("/var/lib/ouvroir", `${root}/var/lib/ouvroir`)
            .replaceAll("/srv/data", `${root}/srv/data`);
        fs.mkdirSync(`${root}/etc/ouvroir/app-db`, { recursive: true });
        fs.mkdirSync(`${root}/var/lib/ouvroir`, { recursive: true });
        fs.writeFileSync(`${root}/etc/ouvroir/settings.env`, `SQL_ENGINE='${engine}'\n`);
        fs.writeFileSync(`${root}/etc/ouvroir/apps`, apps);
        fs.writeFileSync(`${root}/etc/ouvroir/apps-drop`, drop);
        if (state.known !== undefined)
            fs.writeFileSync(`${root}/var/lib/ouvroir/apps.known`, state.known);
        for (const [name, pw] of Object.entries(state.secrets ?? {}))
            fs.writeFileSync(`${root}/etc/ouvroir/app-db/${name}`, pw);
        for (const d of state.dirs ?? [])
            fs.mkdirSync(`${root}/srv/data/apps/${d}`, { recursive: true });
        for (const [f, content] of Object.entries(state.files ?? {})) {
            fs.mkdirSync(path.dirname(`${root}/srv/data/apps/${f}`), { recursive: true });
            fs.writeFileSync(`${root}/srv/data/apps/${f}`, content);
        }
        fs.writeFileSync(`${root}/script`, script);
        const stubs = [
            `LOG=${root}/log; SQL=${root}/sql`,
            'client() { printf "%s\\n" "$*" >>"$SQL"; cat >>"$SQL"; echo "--" >>"$SQL"; }',
            'mariadb() { client mariadb "$@"; }',
            'runuser() { client runuser "$@"; }',
            'systemctl() { echo "systemctl $*" >>"$LOG"; }',
            // install -d [-m M] [-o U] [-g G] DIR… or install [-m M] [-o U] [-g G] SRC DST
            'install() { local d=0 a=(); while (($#)); do case $1 in -d) d=1;; -m|-o|-g) shift;; *) a+=("$1");; esac; shift; done; ' +
                'if ((d)); then mkdir -p "${a[@]}"; else cp "${a[0]}" "${a[1]}"; echo "install ${a[1]##*/srv/data/}" >>"$LOG"; fi; }',
        ].join("\n");
        let code = 0;
        let out = "";
        try {
            out = execFileSync("bash", ["-c", `${stubs}\nsource ${root}/script`], {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"],
            });
        } catch (e) {
            const x = e as { status: number; stdout: string; stderr: string };
            code = x.status;
            out = `${x.stdout}${x.stderr}`;
        }
        const read = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
        const files: Record<string, string> = {};
        const appsDir = `${root}/srv/data/apps`;
        for (const d of fs.existsSync(appsDir) ? fs.readdirSync(appsDir) : [])
            for (const f of fs.readdirSync(`${appsDir}/${d}`))
                files[`${d}/${f}`] = read(`${appsDir}/${d}/${f}`);
        for (const f of fs.readdirSync(`${root}/etc/ouvroir/app-db`))
            files[`app-db/${f}`] = read(`${root}/etc/ouvroir/app-db/${f}`);
        return {
            code,
            out,
            sql: read(`${root}/sql`)
                .split("--\n")
                .filter((s) => s !== ""),
            log: read(`${root}/log`)
                .split("\n")
                .filter((l) => l !== ""),
            files,
            known: read(`${root}/var/lib/ouvroir/apps.known`),
        };
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}

/** A server where ledger was declared and is no longer: its directory, secret and known line. */
const LEDGER_TAKEN_OUT = {
    known: "ledger\nnotes\n",
    secrets: { notes: "StackSecret0123", ledger: "LedgerSecret0123" },
    dirs: ["ledger"],
};

describe("the app server's database step", () => {
    it("MariaDB: the database, the user and its grant, the password on stdin only, then the env file", () => {
        const r = run("mariadb", "notes 8010 1\nstatic 8011 0\n", "", {
            secrets: { notes: "StackSecret0123" },
        });
        expect(r.code).toBe(0);
        expect(r.sql).toEqual([
            "mariadb --batch --skip-column-names\n" +
                "CREATE DATABASE IF NOT EXISTS `notes`;\n" +
                "CREATE USER IF NOT EXISTS 'notes'@'localhost' IDENTIFIED BY 'StackSecret0123';\n" +
                "ALTER USER 'notes'@'localhost' IDENTIFIED BY 'StackSecret0123' ACCOUNT UNLOCK;\n" +
                "GRANT ALL PRIVILEGES ON `notes`.* TO 'notes'@'localhost';\n",
        ]);
        expect(r.files["notes/app.env"]).toBe(
            "PORT=8010\nDATABASE_URL=mysql://notes:StackSecret0123@localhost:3306/notes\n" +
                "DB_HOST=localhost\nDB_PORT=3306\nDB_NAME=notes\nDB_USER=notes\nDB_PASSWORD=StackSecret0123\n",
        );
        // An app without a database: its port only, and no database asked for it.
        expect(r.files["static/app.env"]).toBe("PORT=8011\n");
        expect(r.log).toEqual([
            "install apps/notes/app.env",
            "systemctl try-restart ouvroir-app@notes.service",
            "install apps/static/app.env",
            "systemctl try-restart ouvroir-app@static.service",
        ]);
        expect(r.known).toBe("notes\nstatic\n");
    });

    it("PostgreSQL: the role and the database once, CONNECT for its owner only", () => {
        const r = run("postgresql", "notes 8010 1\n", "", {
            secrets: { notes: "StackSecret0123" },
        });
        expect(r.code).toBe(0);
        expect(r.sql).toEqual([
            "runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -tA\n" +
                "SELECT format('CREATE ROLE %I', 'notes') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'notes')\\gexec\n" +
                "ALTER ROLE \"notes\" LOGIN PASSWORD 'StackSecret0123';\n" +
                "SELECT format('CREATE DATABASE %I OWNER %I', 'notes', 'notes') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'notes')\\gexec\n" +
                'REVOKE ALL ON DATABASE "notes" FROM PUBLIC;\n',
        ]);
        expect(r.files["notes/app.env"]).toContain(
            "DATABASE_URL=postgresql://notes:StackSecret0123@localhost:5432/notes\n",
        );
    });

    it("makes a password when day-2 has not written one yet (first boot), and keeps it", () => {
        const r = run("postgresql", "notes 8010 1\n", "");
        expect(r.code).toBe(0);
        expect(r.files["app-db/notes"]).toMatch(/^[0-9a-f]{48}$/);
        expect(r.files["notes/app.env"]).toContain(`DB_PASSWORD=${r.files["app-db/notes"]}\n`);
    });

    it("refuses a password that could leave its SQL quotes", () => {
        const r = run("mariadb", "notes 8010 1\n", "", {
            secrets: { notes: "x'; DROP USER root; --" },
        });
        expect(r.code).not.toBe(0);
        expect(r.out).toContain("must hold letters and digits only");
        expect(r.sql).toEqual([]);
    });

    it("an app taken out: stopped, its login locked, its database kept", () => {
        for (const engine of ["mariadb", "postgresql"] as const) {
            const r = run(engine, "notes 8010 1\n", "", LEDGER_TAKEN_OUT);
            expect(r.code).toBe(0);
            expect(r.out).toContain(
                "app-setup: app ledger taken out of the list: stopped, its database kept",
            );
            expect(r.log).toContain("systemctl disable --now ouvroir-app@ledger.service");
            const last = r.sql[r.sql.length - 1];
            expect(last).toContain(
                engine === "mariadb"
                    ? "ALTER USER IF EXISTS 'ledger'@'localhost' ACCOUNT LOCK;"
                    : "SELECT format('ALTER ROLE %I NOLOGIN', 'ledger')",
            );
            expect(r.sql.join("")).not.toMatch(/DROP/);
            expect(r.files["ledger/.removed"]).toBe("");
            expect(r.files["app-db/ledger"]).toBe("LedgerSecret0123");
            expect(r.known).toBe("ledger\nnotes\n");
        }
    });

    it("drops a database only when it is out of the list and named in dropAppDatabases", () => {
        for (const engine of ["mariadb", "postgresql"] as const) {
            const r = run(engine, "notes 8010 1\n", "ledger\n", LEDGER_TAKEN_OUT);
            expect(r.code).toBe(0);
            expect(r.out).toContain(
                "app-setup: database and user of app ledger dropped, as dropAppDatabases asks",
            );
            expect(r.sql[r.sql.length - 1]).toBe(
                engine === "mariadb"
                    ? "mariadb --batch --skip-column-names\nDROP DATABASE IF EXISTS `ledger`;\nDROP USER IF EXISTS 'ledger'@'localhost';\n"
                    : 'runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -tA\nDROP DATABASE IF EXISTS "ledger" WITH (FORCE);\nDROP ROLE IF EXISTS "ledger";\n',
            );
            expect(r.files["app-db/ledger"]).toBeUndefined();
            expect(r.known).toBe("notes\n");
        }
        // Named in dropAppDatabases but still declared: never dropped (config refuses it too).
        const kept = run("mariadb", "ledger 8010 1\n", "ledger\n", { known: "ledger\n" });
        expect(kept.sql.join("")).not.toMatch(/DROP/);
    });

    it("a second run with the same settings rewrites no env file and restarts no app", () => {
        const first = run("mariadb", "notes 8010 1\n", "", {
            secrets: { notes: "StackSecret0123" },
        });
        const again = run("mariadb", "notes 8010 1\n", "", {
            secrets: { notes: "StackSecret0123" },
            known: first.known,
            files: { "notes/app.env": first.files["notes/app.env"] ?? "" },
        });
        expect(again.code).toBe(0);
        expect(again.log).toEqual([]);
        expect(again.files["notes/app.env"]).toBe(first.files["notes/app.env"]);
    });
});
