// Pure: which ssh failures the VM harness retries. Does not prove a starved guest answers later (tests/vm does).
import { sshNeverStarted } from "../../scripts/vm/qemu";

describe("VM harness: ssh retries", () => {
    const fail = (stderr: string, code = 255) => ({ code, stdout: "", stderr });

    it("retries what failed before the command started", () => {
        for (const stderr of [
            "Connection timed out during banner exchange\n",
            "kex_exchange_identification: read: Connection reset by peer\n",
            "ssh: connect to host 10.209.0.53 port 22: Connection timed out\n",
            "ssh: connect to host 10.209.0.53 port 22: Connection refused\n",
            "ssh: connect to host 10.209.0.53 port 22: No route to host\n",
        ]) {
            expect([stderr, sshNeverStarted(fail(stderr))]).toEqual([stderr, true]);
        }
    });

    it("never retries a command that ran: its own exit status, or a connection lost midway", () => {
        expect(sshNeverStarted(fail("mariadb: access denied", 1))).toBe(false);
        expect(sshNeverStarted(fail("Connection to 10.209.0.53 closed by remote host.\n"))).toBe(
            false,
        );
        expect(sshNeverStarted(fail("client_loop: send disconnect: Broken pipe\n"))).toBe(false);
        expect(sshNeverStarted({ code: 0, stdout: "ok", stderr: "" })).toBe(false);
    });
});
