// Does not prove that the program deploys (no Pulumi engine here: see engine.test.ts), nor anything inside a guest (the hypervisor is fake).
/**
 * The local OpenStack (tests/harness/local-openstack) against the `local` stack's config: every name
 * Pulumi.local.yaml relies on exists on the cloud with the sizes the program assumes, the demo
 * project's quotas are the allocation the stack declares, and the API calls the program's
 * resources turn into (port with a security group, boot from volume on a p flavor, a second
 * volume attached then grown while attached, a floating IP on a port) succeed.
 *
 *   sudo npm run test:integration -- tests/integration/localOpenstack.test.ts
 *
 * Starts the cloud with up.sh when it is not running (2 s when it is; minutes on a fresh machine).
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { checkStack, flavorSize, readStackFile, StackConfig } from "../../config";
import { DEFAULTS } from "../../config/keys";
import { ROLE_NAMES } from "../../components/roles";

const REPO = path.resolve(__dirname, "../..");
const SCRIPTS = path.join(REPO, "tests/harness/local-openstack");
// Debian's python: the machine's first python3 may be another one without openstacksdk.
const PYTHON = "/usr/bin/python3";

jest.setTimeout(20 * 60_000);

interface Inventory {
    externalNetworks: string[];
    images: { name: string; createdAt: string; status: string }[];
    flavors: Record<string, { vcpus: number; ramMb: number; disk: number }>;
    volumeTypes: string[];
    quotas: {
        instances: number;
        vcpus: number;
        ramMb: number;
        volumes: number;
        volumeGb: number;
        floatingIps: number;
        securityGroups: number;
    };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
    return execFileSync(cmd, args, {
        cwd: REPO,
        encoding: "utf8",
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 64 << 20,
    });
}

let cfg: StackConfig;
let inv: Inventory;

beforeAll(() => {
    const t0 = Date.now();
    const out = run("bash", [path.join(SCRIPTS, "up.sh")]);
    console.log(`${out.trim()}\n(up.sh took ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    cfg = checkStack("local", readStackFile(REPO, "local"), REPO).config;
    inv = JSON.parse(run(PYTHON, [path.join(SCRIPTS, "provision.py"), "inventory"])) as Inventory;
});

describe("the local cloud serves what Pulumi.local.yaml names", () => {
    it("has the external network", () => {
        expect(inv.externalNetworks).toContain(cfg.externalNetwork ?? "(not set)");
    });

    it("has an active image matching the image selector", () => {
        const re = new RegExp(cfg.image.namePattern);
        const matches = inv.images.filter(
            (i) =>
                i.status === "active" &&
                (cfg.image.name !== undefined ? i.name === cfg.image.name : re.test(i.name)),
        );
        expect(matches.map((i) => i.name)).not.toEqual([]);
    });

    it("the default selector takes Debian 13 though a Debian 12 image is listed beside it", () => {
        const re = new RegExp(DEFAULTS.image.namePattern);
        expect(
            inv.images
                .map((i) => i.name)
                .filter((n) => n.startsWith("Debian-"))
                .sort(),
        ).toEqual(["Debian-12-Bookworm-x64-2026-11", "Debian-13-Trixie-x64-2026-11"]);
        expect(inv.images.filter((i) => re.test(i.name)).map((i) => i.name)).toEqual([
            "Debian-13-Trixie-x64-2026-11",
        ]);
    });

    it("has every role's flavor, with the vCPUs and RAM its name promises and no root disk", () => {
        for (const role of ROLE_NAMES) {
            const rc = cfg.roles[role];
            if (!rc) continue;
            const flavor = inv.flavors[rc.flavor];
            expect({ role, flavor: rc.flavor, exists: flavor !== undefined }).toEqual({
                role,
                flavor: rc.flavor,
                exists: true,
            });
            const size = flavorSize(rc.flavor, cfg.flavors);
            expect({
                role,
                vcpus: flavor?.vcpus,
                ramMb: flavor?.ramMb,
                disk: flavor?.disk,
            }).toEqual({
                role,
                vcpus: size?.vcpus,
                ramMb: Math.round((size?.ramGb ?? 0) * 1024),
                disk: 0,
            });
        }
    });

    it("has every volume type the stack may use", () => {
        const used = new Set<string>(cfg.volumeTypes);
        for (const role of ROLE_NAMES) {
            const t = cfg.roles[role]?.dataVolumeType;
            if (t !== undefined) used.add(t);
        }
        for (const t of used) expect(inv.volumeTypes).toContain(t);
    });

    it("enforces exactly the allocation the stack declares", () => {
        const a = cfg.allocation;
        expect(inv.quotas).toEqual({
            instances: a.instances,
            vcpus: a.vcpus,
            ramMb: a.ramGb * 1024,
            volumes: a.volumes,
            volumeGb: a.volumeGb,
            floatingIps: a.floatingIps,
            securityGroups: a.securityGroups,
        });
    });
});

describe("the API calls the program's resources turn into", () => {
    it("port with a security group, boot from volume, attach, online extend, floating IP", () => {
        const flavor = cfg.roles.web?.flavor ?? "p1-1.5gb";
        const smoke = (): string =>
            run(
                PYTHON,
                [
                    path.join(SCRIPTS, "smoke.py"),
                    "--flavor",
                    flavor,
                    "--external-network",
                    cfg.externalNetwork ?? "Public-Network",
                ],
                { OS_CLOUD: "ouvroir-local" },
            );
        let out: string;
        try {
            out = smoke();
        } catch (e) {
            // Seen once in CI right after up.sh restarted services: nova-compute got a 401 from
            // Cinder (a token from before the restart) and the server went to ERROR. Empty the
            // project and try once more; a second failure is a real one.
            console.warn(
                `smoke flow failed once, retrying after a clean: ${String(e).slice(0, 400)}`,
            );
            run(PYTHON, [path.join(SCRIPTS, "provision.py"), "clean"]);
            out = smoke();
        }
        console.log(out);
        expect(out).toMatch(/extend attached volume 10 -> 15 GB/);
        expect(out).toMatch(/smoke test passed/);
    });
});
