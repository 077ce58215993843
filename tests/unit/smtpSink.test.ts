// The VM harness's relay and webhook stand-ins (test only), asked by independent clients: Python's
// smtplib (STARTTLS verified against the test CA, AUTH PLAIN) and Node's fetch. Proves the stand-in
// refuses what a lab's relay refuses, so that a mail in the VM test means Alertmanager did TLS and
// logged in. Does not prove Alertmanager's side (tests/vm/roles.test.ts, the alert test).
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import {
    makeRelayCertificate,
    SmtpSink,
    startSmtpSink,
    startWebhookSink,
} from "../harness/vm/smtpSink";

const execFileP = promisify(execFile);

/** Python's smtplib sends one mail; prints `sent` or the exception's class and message. */
const CLIENT = `
import smtplib, ssl, sys
port, ca, tls, user, password = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4], sys.argv[5]
try:
    with smtplib.SMTP("127.0.0.1", int(port), timeout=10) as s:
        if tls:
            s.starttls(context=ssl.create_default_context(cafile=ca))
        if user:
            s.login(user, password)
        s.sendmail("alertes@ouvroir.test", ["operateur@ouvroir.test"], "Subject: t\\r\\n\\r\\n.dot\\r\\nbody\\r\\n")
    print("sent")
except Exception as e:
    print(type(e).__name__, str(e).replace("\\n", " "))
`;

describe("the harness's SMTP relay stand-in (test only)", () => {
    let dir: string;
    let sink: SmtpSink;
    let cert: ReturnType<typeof makeRelayCertificate>;
    const port = 25000 + (process.pid % 5000);

    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-sink-"));
        cert = makeRelayCertificate(dir, "127.0.0.1");
        fs.writeFileSync(path.join(dir, "client.py"), CLIENT);
        sink = await startSmtpSink("127.0.0.1", port, {
            tls: { key: cert.key, cert: cert.cert },
            login: { username: "relay-user", password: "s3cret pass" },
        });
    });
    afterAll(async () => {
        await sink.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const send = async (tls: boolean, user: string, password: string): Promise<string> =>
        (
            await execFileP("python3", [
                path.join(dir, "client.py"),
                String(port),
                path.join(dir, "ca.crt"),
                tls ? "1" : "0",
                user,
                password,
            ])
        ).stdout.trim();

    it("takes a mail over STARTTLS (its certificate verified by the test CA) after AUTH PLAIN", async () => {
        expect(await send(true, "relay-user", "s3cret pass")).toBe("sent");
        expect(sink.mails).toHaveLength(1);
        expect(sink.mails[0]).toMatchObject({
            from: "alertes@ouvroir.test",
            to: ["operateur@ouvroir.test"],
            tls: true,
            user: "relay-user",
        });
        expect(sink.mails[0]?.data).toBe("Subject: t\r\n\r\n.dot\r\nbody");
    });

    it("refuses a wrong password, a login without TLS and a mail without login", async () => {
        const before = sink.mails.length;
        expect(await send(true, "relay-user", "wrong")).toMatch(/^SMTPAuthenticationError .*535/);
        // smtplib finds no AUTH offered before STARTTLS.
        expect(await send(false, "relay-user", "s3cret pass")).toMatch(/^SMTPNotSupportedError/);
        expect(await send(false, "", "")).toMatch(/^SMTPSenderRefused .*530/);
        expect(await send(true, "", "")).toMatch(/^SMTPSenderRefused .*530/);
        expect(sink.mails).toHaveLength(before);
        expect(sink.refusals).toEqual([
            "wrong login for relay-user",
            "MAIL without TLS",
            "MAIL without login",
        ]);
    });
});

describe("the harness's webhook stand-in (test only)", () => {
    it("keeps each JSON POST with its path, refuses what is not JSON", async () => {
        const port = 30000 + (process.pid % 5000);
        const hooks = await startWebhookSink("127.0.0.1", port);
        try {
            const body = { status: "firing", alerts: [{ status: "firing", labels: { a: "b" } }] };
            const ok = await fetch(`http://127.0.0.1:${port}/hook/t0k`, {
                method: "POST",
                body: JSON.stringify(body),
            });
            const bad = await fetch(`http://127.0.0.1:${port}/x`, { method: "POST", body: "{" });
            expect([ok.status, bad.status]).toEqual([200, 400]);
            expect(hooks.hooks.map((h) => [h.path, h.body])).toEqual([["/hook/t0k", body]]);
        } finally {
            await hooks.stop();
        }
    });
});
