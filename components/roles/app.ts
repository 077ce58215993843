/** The app server: Python, Node.js and Julia runtimes for the lab's apps, and the SQL database. */
import type { YamlMap } from "../cloudConfig";
import type { UserDataInput } from "../userData";
import { FROM_WEB, nodeExporter, RoleSpec, SecretFile, ssh } from "./types";

const DATA = "/srv/data";
/** Where day-2 writes each app's database password (root, 0600); app-setup reads it. */
export const APP_DB_SECRETS = "/etc/ouvroir/app-db";

export const app: RoleSpec<"app"> = {
    name: "app",
    typeToken: "ouvroir:vm:AppServerVM",
    short: "app",
    description: "Python, Node.js, Julia runtimes for lab apps, and the SQL database",
    public: false,
    stateful: true,
    ports: [
        ssh(FROM_WEB),
        { name: "apps", port: 8000, portMax: 8099, from: FROM_WEB, proxy: true },
        // The SQL server (MariaDB's port; rolePorts gives the engine's): PHP sites on the web
        // server (the apps beside it connect locally).
        { name: "sql", port: 3306, from: FROM_WEB },
        nodeExporter,
    ],
    minVcpus: 2,
    minRamGb: 3,
    defaultFlavor: "p4-7.5gb",
    defaultDataVolumeGb: 50,
    dataMountPoint: DATA,
    takes: ["apps"],
    cloudInit: { template: "app-server.yaml", parts: (input) => appParts(input) },
    apply: { secrets: (input) => appSecrets(input) },
    monitor: {
        units: ["postgresql@.+-main[.]service", "mariadb[.]service", "ouvroir-app@.+[.]service"],
        probes: [{ name: "sql", rule: "sql", module: "tcp" }],
    },
    backup: {
        dumps: ["sql"],
        excludes: [`${DATA}/mysql`, `${DATA}/postgresql`],
        services: ["ouvroir-app@*.service", "mariadb.service", "postgresql.service"],
        afterRestore: ["/usr/local/sbin/ouvroir-app-setup"],
    },
};

/** Each declared app's database password: a random secret of the stack, written by day-2. */
export function appSecrets(input: Pick<UserDataInput, "apps">): SecretFile[] {
    return (input.apps ?? [])
        .filter((a) => a.database)
        .map((a) => ({ name: `appDb-${a.name}`, path: `${APP_DB_SECRETS}/${a.name}` }));
}

/**
 * The apps app-setup keeps in line with config: `/etc/ouvroir/apps` (`name port database`, one
 * line each) and `/etc/ouvroir/apps-drop` (the databases to drop: apps taken out of the list
 * that the operator also listed in dropAppDatabases). Names and ports are checked at preview.
 */
export function appParts(input: UserDataInput): YamlMap {
    const lines = (input.apps ?? []).map((a) => `${a.name} ${a.port} ${a.database ? 1 : 0}\n`);
    const drop = (input.dropAppDatabases ?? []).map((n) => `${n}\n`);
    return {
        write_files: [
            { path: "/etc/ouvroir/apps", permissions: "0644", content: lines.join("") },
            { path: "/etc/ouvroir/apps-drop", permissions: "0644", content: drop.join("") },
        ],
    };
}
