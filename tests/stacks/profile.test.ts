// The reuse profile (Pulumi.arbutus.yaml) under mocks: its own file, because the whole program
// run of another stack in the same module leaves late registrations behind. Does not prove that
// new Arbutus accepts the resources (only the cloud can: docs/alliance-clouds.md).
import { Registration, byType, resolved, runProgram } from "../harness/mocks";

const WORLD = ["0.0.0.0/0", "::/0"];

// The reuse profile: another project on another cloud (new Arbutus), three roles, the same
// recipes. What differs from dev and prod is only its stack file.
describe("stack arbutus (another project's profile)", () => {
    let records: Registration[];
    let outputs: Record<string, unknown>;
    beforeAll(async () => {
        ({ records, outputs } = await runProgram("arbutus"));
    }, 60_000);

    it("deploys exactly its three roles, each with its data volume", async () => {
        const names = await Promise.all(
            byType(records, "openstack:compute/instance:Instance").map(
                async (r) => (await resolved(r)).name,
            ),
        );
        expect(names.sort()).toEqual(["arbutus-iiif-1", "arbutus-web-1", "arbutus-xmldb-1"]);
        expect(
            byType(records, "openstack:blockstorage/volume:Volume")
                .map((r) => r.name)
                .sort(),
        ).toEqual(["iiif-data", "web-data", "xmldb-data"]);
    });

    it("opens only 80/443 to the world and SSH from its admins on the bastion", async () => {
        const open: string[] = [];
        const ssh: string[] = [];
        for (const r of byType(records, "openstack:networking/secGroupRule:SecGroupRule")) {
            const i = await resolved(r);
            if (
                i.remoteGroupId === undefined &&
                (i.remoteIpPrefix === undefined || WORLD.includes(String(i.remoteIpPrefix)))
            )
                open.push(`${r.name}:${i.portRangeMin}`);
            if (Number(i.portRangeMin) <= 22 && Number(i.portRangeMax) >= 22)
                ssh.push(`${r.name} ${i.remoteIpPrefix ?? "group"}`);
        }
        expect(open.sort()).toEqual([
            "web-http-v4:80",
            "web-http-v6:80",
            "web-https-v4:443",
            "web-https-v6:443",
        ]);
        expect(ssh.sort()).toEqual([
            "iiif-ssh group",
            "web-ssh-142-104-0-0-16 142.104.0.0/16",
            "xmldb-ssh group",
        ]);
    });

    it("leaves its data unprotected, as dev (a profile to try the recipes), and its quota is its own", () => {
        for (const r of byType(records, "openstack:blockstorage/volume:Volume"))
            expect({ name: r.name, protect: r.opts.protect }).toEqual({
                name: r.name,
                protect: false,
            });
        expect((outputs.quota as { table: string }).table).toMatch(/\| arbutus +\|/);
        expect((outputs.quota as { table: string }).table).not.toContain("prod");
    });
});
