/**
 * basex.service's ExecStartPost (cloud-init/files/xmldb/basex-wait-ready.sh), run on the host
 * against real sockets: it returns only once every port of BASEX_READY_PORTS accepts a connection,
 * so `systemctl restart basex` does not return while Java is still starting (the race that failed
 * a backup right after a day-2 push). Does not prove systemd's handling of it (the VM tests do:
 * the xmldb restart check in tests/vm/roles.test.ts).
 */
import { spawn } from "child_process";
import * as net from "net";
import * as path from "path";
import { freePort } from "../harness/ports";

const SCRIPT = path.join(
    __dirname,
    "..",
    "..",
    "cloud-init",
    "files",
    "xmldb",
    "basex-wait-ready.sh",
);

/** Listens on `port` after `delayMs`; resolves with the time it started listening. */
function listenLater(port: number, delayMs: number, servers: net.Server[]): Promise<number> {
    return new Promise((resolve) => {
        setTimeout(() => {
            const s = net.createServer((c) => c.destroy());
            servers.push(s);
            s.listen(port, "127.0.0.1", () => resolve(Date.now()));
        }, delayMs);
    });
}

/** Runs the script with BASEX_READY_PORTS; resolves with its exit code and end time. */
function runScript(ports: string): Promise<{ code: number | null; endedAt: number }> {
    return new Promise((resolve) => {
        const child = spawn("bash", [SCRIPT], {
            env: { ...process.env, BASEX_READY_PORTS: ports },
            stdio: "ignore",
        });
        child.on("exit", (code) => resolve({ code, endedAt: Date.now() }));
    });
}

describe("basex-wait-ready (basex.service's ExecStartPost)", () => {
    const servers: net.Server[] = [];
    afterEach(async () => {
        await Promise.all(servers.splice(0).map((s) => new Promise((res) => s.close(res))));
    });

    it("returns once the port accepts connections, not before", async () => {
        const port = await freePort();
        const run = runScript(String(port));
        const listening = await listenLater(port, 1500, servers);
        const { code, endedAt } = await run;
        expect(code).toBe(0);
        expect(endedAt).toBeGreaterThanOrEqual(listening);
    });

    it("waits for every listed port (upstream BaseX: 1984 and 8080)", async () => {
        const a = await freePort();
        let b = await freePort();
        while (b === a) b = await freePort();
        const run = runScript(`${a} ${b}`);
        await listenLater(a, 200, servers);
        const second = await listenLater(b, 1500, servers);
        const { code, endedAt } = await run;
        expect(code).toBe(0);
        expect(endedAt).toBeGreaterThanOrEqual(second);
    });

    it("returns at once when BaseX already answers", async () => {
        const port = await freePort();
        await listenLater(port, 0, servers);
        const started = Date.now();
        const { code, endedAt } = await runScript(String(port));
        expect(code).toBe(0);
        expect(endedAt - started).toBeLessThan(1000);
    });
});
