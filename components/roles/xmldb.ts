/** The XML database: Java, BaseX (its HTTP server behind Nginx for RESTXQ apps), Saxon. */
import { FROM_WEB, nodeExporter, RoleSpec, ssh } from "./types";

/** Local port of the BaseX admin tunnel (`ssh -N <stack>-xmldb-1-tunnel`, then http://localhost:8984/). */
export const BASEX_TUNNEL_PORT = 8984;
/** BaseX's HTTP server: RESTXQ for the web server, REST and DBA through the tunnel only. */
const BASEX_HTTP = 8080;

export const xmldb: RoleSpec<"xmldb"> = {
    name: "xmldb",
    typeToken: "ouvroir:vm:XmlDatabaseVM",
    short: "xmldb",
    description: "Java, BaseX (HTTP behind Nginx), Saxon",
    public: false,
    stateful: true,
    ports: [
        ssh(FROM_WEB),
        // RESTXQ apps that a site publishes; never REST or DBA (the web server filters paths).
        { name: "basex-http", port: BASEX_HTTP, from: FROM_WEB },
        // BaseX's client protocol: the lab's apps.
        { name: "basex-server", port: 1984, from: { roles: ["app"] } },
        nodeExporter,
    ],
    minVcpus: 2,
    minRamGb: 3,
    defaultFlavor: "p4-7.5gb",
    defaultDataVolumeGb: 50,
    dataMountPoint: "/srv/data",
    takes: [],
    cloudInit: { template: "xml-database.yaml" },
    // Written before the applier, whose xmldb-setup restarts BaseX: the password file is applied
    // at BaseX's start (basex-password.sh).
    apply: {
        secrets: () => [{ name: "basexAdminPassword", path: "/srv/data/basex/admin-password" }],
    },
    monitor: {
        units: ["basex[.]service", "basex-rest-gateway[.]service"],
        probes: [{ name: "basex", rule: "basex-http", module: "http", path: "/" }],
    },
    backup: {
        dumps: ["basex"],
        excludes: [],
        // Debian's BaseX 9.7 is served over HTTP by a gateway that stops with BaseX (Requires=).
        services: ["basex.service", "basex-rest-gateway.service"],
        afterRestore: [],
    },
    // BaseX's admin (REST, DBA) is reached through the bastion only.
    tunnels: [
        {
            suffix: "tunnel",
            localPort: BASEX_TUNNEL_PORT,
            remotePort: BASEX_HTTP,
            endpoint: "basexAdmin",
        },
    ],
};
