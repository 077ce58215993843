/**
 * The apps' databases, checked in a guest as an app sees them: a transient unit runs as the
 * apps' account with the app's env file as systemd hands it over (EnvironmentFile=), and uses
 * only what that file says (DATABASE_URL, DB_*). Used by roles.test.ts (MariaDB, the harness's
 * app server) and appDatabases.test.ts (PostgreSQL, the product's default).
 */
import { shellWord as q } from "../../components/escape";
import type { Vm } from "../harness/vm/qemu";

export interface SqlResult {
    readonly code: number;
    readonly out: string;
}

/**
 * Runs `statements` (";"-separated) as the app `app` would, with its env file, against the
 * database `db` (default its own). Client by the URL's scheme: mariadb or psql.
 */
export async function asApp(
    vm: Vm,
    app: string,
    statements: string,
    db?: string,
): Promise<SqlResult> {
    const target = db ?? "$DB_NAME";
    const script =
        'if [ "${DATABASE_URL%%:*}" = mysql ]; then ' +
        // The password through a file descriptor, as a client option file: MariaDB 11.8's client
        // (Debian 13) does not count MYSQL_PWD as a password for its TLS check and warns.
        `mariadb --defaults-extra-file=<(printf '[client]\\npassword=%s\\n' "$DB_PASSWORD") -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" -N -B -e ${q(statements)} "${target}"; ` +
        `else psql "\${DATABASE_URL%/*}/${target}" -X -q -t -A -v ON_ERROR_STOP=1 -c ${q(statements)}; fi`;
    // The script goes on stdin (`bash -s`): systemd expands `$VAR` and `%` specifiers in a
    // unit's command line, which would rewrite it before bash sees it.
    const r = await vm.sshStdin(
        "sudo systemd-run --wait --pipe --quiet -p User=ouvroir-apps " +
            `-p EnvironmentFile=/srv/data/apps/${app}/app.env bash -s`,
        script + "\n",
        300_000,
    );
    return { code: r.code ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** What the env file holds (mode, owner, variable names), read as root. */
export async function envFileOf(
    vm: Vm,
    app: string,
): Promise<{ mode: string; names: string[]; text: string }> {
    const path = `/srv/data/apps/${app}/app.env`;
    const r = await vm.ssh(`sudo stat -c '%a %U:%G' ${path} && sudo cat ${path}`, 60_000);
    const [mode = "", ...lines] = r.stdout.trim().split("\n");
    return { mode, names: lines.map((l) => l.split("=")[0] ?? ""), text: lines.join("\n") };
}

/** Each app writes and reads its own database, and is refused the other's. */
export async function expectOwnDatabasesOnly(
    vm: Vm,
    apps: readonly [string, string],
): Promise<string[]> {
    const figures: string[] = [];
    for (const [app, other] of [apps, [apps[1], apps[0]]] as const) {
        const env = await envFileOf(vm, app);
        expect(env.mode).toBe("600 root:root");
        expect(env.names).toEqual([
            "PORT",
            "DATABASE_URL",
            "DB_HOST",
            "DB_PORT",
            "DB_NAME",
            "DB_USER",
            "DB_PASSWORD",
        ]);
        const own = await asApp(
            vm,
            app,
            "CREATE TABLE IF NOT EXISTS visits (n INT); DELETE FROM visits; " +
                "INSERT INTO visits VALUES (42); SELECT n FROM visits",
        );
        expect(own).toEqual({ code: 0, out: "42\n" });
        const theirs = await asApp(vm, app, "SELECT 1", other);
        expect(theirs.code).not.toBe(0);
        expect(theirs.out).toMatch(/denied|permission|privilege/i);
        figures.push(
            `${app}: own database read and written; ${other}'s refused (${theirs.out.trim().split("\n")[0]})`,
        );
    }
    return figures;
}
