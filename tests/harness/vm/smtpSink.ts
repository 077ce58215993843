/**
 * HARNESS STAND-IN, never in the product: the lab's SMTP relay and a webhook receiver, on this
 * machine's bridge address. Alertmanager on the web server guest sends its notifications here
 * (the VM test's `ouvroir:alerts`); every message is kept for the test to read.
 *
 * The relay speaks just enough SMTP for Go's client, as a relay that the lab would be given:
 * EHLO/HELO, STARTTLS (with `tls`: a certificate made by `makeRelayCertificate`, whose CA the
 * guest trusts), AUTH PLAIN (with `login`: required before MAIL, and only over TLS), MAIL, RCPT,
 * DATA, RSET, NOOP, QUIT. A mail records whether it came over TLS and who logged in.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import * as tls from "tls";

export interface Mail {
    readonly from: string;
    readonly to: readonly string[];
    /** The message as sent (headers and body, CRLF line ends, dot-stuffing undone). */
    readonly data: string;
    readonly receivedAt: number;
    /** Whether the session had switched to TLS (STARTTLS) before MAIL. */
    readonly tls: boolean;
    /** Who logged in (AUTH PLAIN), if anyone. */
    readonly user?: string;
}

export interface SmtpSink {
    readonly mails: Mail[];
    /** Why sessions were refused (a wrong password, MAIL before login…), in order. */
    readonly refusals: string[];
    stop(): Promise<void>;
}

export interface SinkOptions {
    /** Offer STARTTLS with this key and certificate (PEM). */
    readonly tls?: { readonly key: string; readonly cert: string };
    /** Require AUTH PLAIN with these before MAIL (offered only once the session is in TLS). */
    readonly login?: { readonly username: string; readonly password: string };
}

/**
 * A test CA and the relay's certificate for `ip` (its subjectAltName), made with openssl in `dir`.
 * The guest trusts `caCert` as a lab's relay certificate is trusted: by its CA.
 */
export function makeRelayCertificate(
    dir: string,
    ip: string,
): { caCert: string; key: string; cert: string } {
    fs.mkdirSync(dir, { recursive: true });
    const f = (name: string): string => path.join(dir, name);
    const ssl = (...args: string[]): void => {
        execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
    };
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    ssl(
        "req",
        "-x509",
        ...ec,
        "-keyout",
        f("ca.key"),
        "-out",
        f("ca.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=ouvroir VM test relay CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    );
    ssl("req", ...ec, "-keyout", f("relay.key"), "-out", f("relay.csr"), "-subj", `/CN=${ip}`);
    fs.writeFileSync(
        f("relay.ext"),
        `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
    );
    ssl(
        "x509",
        "-req",
        "-in",
        f("relay.csr"),
        "-CA",
        f("ca.crt"),
        "-CAkey",
        f("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        f("relay.ext"),
        "-out",
        f("relay.crt"),
    );
    const read = (name: string): string => fs.readFileSync(f(name), "utf8");
    return { caCert: read("ca.crt"), key: read("relay.key"), cert: read("relay.crt") };
}

export function startSmtpSink(host: string, port: number, o: SinkOptions = {}): Promise<SmtpSink> {
    const mails: Mail[] = [];
    const refusals: string[] = [];
    const context = o.tls ? tls.createSecureContext(o.tls) : undefined;
    const server = net.createServer((raw) => {
        let stream: net.Socket = raw;
        let secure = false;
        let user: string | undefined;
        let buffer = "";
        let inData = false;
        let from = "";
        let to: string[] = [];
        let data: string[] = [];
        const reply = (line: string): void => {
            stream.write(`${line}\r\n`);
        };
        const refuse = (line: string, why: string): void => {
            refusals.push(why);
            reply(line);
        };
        const login = (b64: string): void => {
            // AUTH PLAIN: authzid NUL authcid NUL password.
            const [, name, password] = Buffer.from(b64, "base64").toString("utf8").split("\0");
            if (o.login && name === o.login.username && password === o.login.password) {
                user = name;
                reply("235 2.7.0 authenticated");
            } else refuse("535 5.7.8 authentication failed", `wrong login for ${name ?? "?"}`);
        };
        let awaitingPlain = false;
        const onLine = (line: string): void => {
            if (inData) {
                if (line === ".") {
                    inData = false;
                    mails.push({
                        from,
                        to,
                        data: data.join("\r\n"),
                        receivedAt: Date.now(),
                        tls: secure,
                        ...(user !== undefined ? { user } : {}),
                    });
                    data = [];
                    reply("250 queued");
                } else data.push(line.startsWith("..") ? line.slice(1) : line);
                return;
            }
            if (awaitingPlain) {
                awaitingPlain = false;
                login(line);
                return;
            }
            const verb = line.split(" ")[0]?.toUpperCase() ?? "";
            if (verb === "EHLO") {
                const ext = ["8BITMIME"];
                if (context && !secure) ext.push("STARTTLS");
                if (o.login && (secure || !context)) ext.push("AUTH PLAIN");
                reply("250-ouvroir-test-sink");
                ext.forEach((e, i) => reply(`250${i === ext.length - 1 ? " " : "-"}${e}`));
            } else if (verb === "HELO") reply("250 ouvroir-test-sink");
            else if (verb === "STARTTLS" && context && !secure) {
                reply("220 2.0.0 ready to start TLS");
                raw.removeListener("data", onData);
                const upgraded = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
                upgraded.on("data", onData);
                upgraded.on("error", () => raw.destroy());
                stream = upgraded;
                secure = true;
                buffer = "";
                // RFC 3207: the session starts over (no login, no transaction).
                user = undefined;
                from = "";
                to = [];
            } else if (verb === "AUTH") {
                const [, mech, initial] = line.split(" ");
                if (!o.login || (context && !secure))
                    refuse("503 5.5.1 AUTH not offered here", "AUTH before TLS");
                else if (mech?.toUpperCase() !== "PLAIN")
                    refuse("504 5.5.4 only PLAIN", `AUTH ${mech ?? ""}`);
                else if (initial === undefined) {
                    awaitingPlain = true;
                    reply("334 ");
                } else login(initial);
            } else if (verb === "MAIL") {
                if (context && !secure) refuse("530 5.7.0 STARTTLS first", "MAIL without TLS");
                else if (o.login && user === undefined)
                    refuse("530 5.7.0 authentication required", "MAIL without login");
                else {
                    from = /<([^>]*)>/.exec(line)?.[1] ?? "";
                    to = [];
                    reply("250 ok");
                }
            } else if (verb === "RCPT") {
                to.push(/<([^>]*)>/.exec(line)?.[1] ?? "");
                reply("250 ok");
            } else if (verb === "DATA") {
                inData = true;
                reply("354 end with <CRLF>.<CRLF>");
            } else if (verb === "RSET" || verb === "NOOP") reply("250 ok");
            else if (verb === "QUIT") {
                reply("221 bye");
                stream.end();
            } else reply("502 not implemented");
        };
        function onData(chunk: Buffer): void {
            buffer += chunk.toString("latin1");
            let i: number;
            while ((i = buffer.indexOf("\r\n")) >= 0) {
                const line = buffer.slice(0, i);
                buffer = buffer.slice(i + 2);
                const before = stream;
                onLine(line);
                // After STARTTLS, what followed in the plain buffer is discarded (RFC 3207).
                if (stream !== before) break;
            }
        }
        raw.on("data", onData);
        raw.on("error", () => raw.destroy());
        reply("220 ouvroir-test-sink ESMTP");
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () =>
            resolve({
                mails,
                refusals,
                stop: () => new Promise<void>((res) => server.close(() => res())),
            }),
        );
    });
}

/** A notification Alertmanager posted to the webhook. */
export interface Hook {
    readonly path: string;
    readonly body: {
        status: string;
        alerts: { status: string; labels: Record<string, string> }[];
    };
    readonly receivedAt: number;
}

export interface WebhookSink {
    readonly hooks: Hook[];
    stop(): Promise<void>;
}

/** HARNESS STAND-IN: the operator's webhook (a chat's incoming hook), keeping each POST. */
export function startWebhookSink(host: string, port: number): Promise<WebhookSink> {
    const hooks: Hook[] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            try {
                hooks.push({
                    path: req.url ?? "",
                    body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Hook["body"],
                    receivedAt: Date.now(),
                });
                res.writeHead(200).end("ok");
            } catch {
                res.writeHead(400).end("not JSON");
            }
        });
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () =>
            resolve({
                hooks,
                stop: () => new Promise<void>((res) => server.close(() => res())),
            }),
        );
    });
}
