// CI deploys fail fast: an `up` from a machine that cannot reach the bastion is refused before
// any resource (day-2 would fail after the cloud changed). Under mocks, with the stack's last
// outputs; does not prove the workflow's runner placement (docs/ci.md step 5).
import * as net from "net";
import { BASTION_SSH, tcpProblem } from "../../components/deployed";

import { Registration, runProgram } from "../harness/mocks";
import { freePort } from "../harness/ports";

describe("an up that cannot reach the bastion", () => {
    it("is refused before any resource, with the reason and the fix (CI's hosted runner)", async () => {
        const records: Registration[] = [];
        // A port nothing listens on stands for the bastion's SSH as a hosted runner sees it.
        BASTION_SSH.port = await freePort();
        await expect(runProgram("prod", {}, { bastion: "127.0.0.1" }, records)).rejects.toThrow(
            /this machine cannot reach the bastion 127\.0\.0\.1:\d+ \(ECONNREFUSED\): the day-2 steps would fail .* nothing was done\. Run `pulumi up` from a network in ouvroir:adminCidrs \(in CI: the self-hosted runner of DEPLOY_RUNS_ON, docs\/ci\.md step 5\)/,
        );
        expect(records.filter((r) => r.type.startsWith("openstack:"))).toEqual([]);
    }, 60_000);
    it("is not checked without day-2 (the local cloud) nor before a first deployment", async () => {
        // (Without day-2, prod has no backup either: the preview's warning is expected.)
        const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
        await expect(
            runProgram("prod", { day2: false, backup: {}, alerts: {} }, { bastion: "127.0.0.1" }),
        ).resolves.toBeDefined();
        warn.mockRestore();
        await expect(runProgram("prod", {}, {})).resolves.toBeDefined();
    }, 60_000);
});

describe("tcpProblem", () => {
    it("is undefined for a port that accepts, and names the refusal of one that does not", async () => {
        const server = net.createServer((c) => c.destroy());
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const { port } = server.address() as net.AddressInfo;
        expect(await tcpProblem("127.0.0.1", port, 5000)).toBeUndefined();
        await new Promise<void>((r) => server.close(() => r()));
        expect(await tcpProblem("127.0.0.1", port, 5000)).toBe("ECONNREFUSED");
    });
});
