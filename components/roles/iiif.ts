/** The IIIF image server: Cantaloupe; the images and its derivative cache on the data volume. */
import { FROM_WEB, nodeExporter, RoleSpec, ssh } from "./types";

export const iiif: RoleSpec<"iiif"> = {
    name: "iiif",
    typeToken: "ouvroir:vm:IiifServerVM",
    short: "iiif",
    description: "Cantaloupe IIIF image server; images and derivative cache on the volume",
    public: false,
    stateful: true,
    ports: [
        ssh(FROM_WEB),
        { name: "cantaloupe", port: 8182, from: FROM_WEB, proxy: true },
        // The IIIF Presentation manifests, a static directory (iiif-manifests.py writes it).
        { name: "manifests", port: 8183, from: FROM_WEB },
        nodeExporter,
    ],
    minVcpus: 2,
    minRamGb: 3,
    defaultFlavor: "p4-7.5gb",
    defaultDataVolumeGb: 200,
    dataMountPoint: "/srv/data",
    takes: [],
    cloudInit: { template: "iiif-server.yaml" },
    apply: { secrets: () => [] },
    monitor: {
        units: [
            "cantaloupe[.]service",
            "lighttpd[.]service",
            "ouvroir-iiif-manifests-http[.]service",
        ],
        probes: [
            { name: "image-api", rule: "cantaloupe", module: "http", path: "/iiif/2/" },
            { name: "manifests", rule: "manifests", module: "http", path: "/collection.json" },
        ],
    },
    backup: {
        dumps: [],
        // Derivatives are recomputed from the images on demand: the bulk of the volume, no value.
        excludes: ["/srv/data/iiif/cache"],
        services: ["cantaloupe.service", "lighttpd.service"],
        afterRestore: [],
    },
    // The web server's main host proxies /iiif/ to Cantaloupe (cloud-init/files/web/).
    publicPaths: { iiif: "/iiif/3/" },
};
