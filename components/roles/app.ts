/** The app server: Python, Node.js and Julia runtimes for the lab's apps, and the SQL database. */
import { FROM_WEB, RoleSpec, ssh } from "./types";

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
    ],
    minVcpus: 2,
    minRamGb: 3,
    defaultFlavor: "p4-7.5gb",
    defaultDataVolumeGb: 50,
    dataMountPoint: "/srv/data",
    takes: [],
    cloudInit: { template: "app-server.yaml" },
    apply: { secrets: [] },
    backup: {
        dumps: ["sql"],
        excludes: ["/srv/data/mysql", "/srv/data/postgresql"],
        services: ["ouvroir-app@*.service", "mariadb.service", "postgresql.service"],
        afterRestore: ["/usr/local/sbin/ouvroir-app-setup"],
    },
};
