/**
 * HARNESS STAND-IN, never in the product: the lab's SMTP relay, as a sink on this machine's
 * bridge address. Alertmanager on the web server guest sends its notifications here (the VM
 * test's `ouvroir:alerts`); every message is kept for the test to read. Speaks just enough SMTP
 * for Go's client without TLS or login: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
 */
import * as net from "net";

export interface Mail {
    readonly from: string;
    readonly to: readonly string[];
    /** The message as sent (headers and body, CRLF line ends, dot-stuffing undone). */
    readonly data: string;
    readonly receivedAt: number;
}

export interface SmtpSink {
    readonly mails: Mail[];
    stop(): Promise<void>;
}

export function startSmtpSink(host: string, port: number): Promise<SmtpSink> {
    const mails: Mail[] = [];
    const server = net.createServer((socket) => {
        let buffer = "";
        let inData = false;
        let from = "";
        let to: string[] = [];
        let data: string[] = [];
        const reply = (line: string): void => {
            socket.write(`${line}\r\n`);
        };
        reply("220 ouvroir-test-sink ESMTP");
        socket.on("data", (chunk) => {
            buffer += chunk.toString("latin1");
            let i: number;
            while ((i = buffer.indexOf("\r\n")) >= 0) {
                const line = buffer.slice(0, i);
                buffer = buffer.slice(i + 2);
                if (inData) {
                    if (line === ".") {
                        inData = false;
                        mails.push({ from, to, data: data.join("\r\n"), receivedAt: Date.now() });
                        data = [];
                        reply("250 queued");
                    } else data.push(line.startsWith("..") ? line.slice(1) : line);
                    continue;
                }
                const verb = line.slice(0, 4).toUpperCase();
                if (verb === "EHLO") {
                    reply("250-ouvroir-test-sink");
                    reply("250 8BITMIME");
                } else if (verb === "HELO") reply("250 ouvroir-test-sink");
                else if (verb === "MAIL") {
                    from = /<([^>]*)>/.exec(line)?.[1] ?? "";
                    to = [];
                    reply("250 ok");
                } else if (verb === "RCPT") {
                    to.push(/<([^>]*)>/.exec(line)?.[1] ?? "");
                    reply("250 ok");
                } else if (verb === "DATA") {
                    inData = true;
                    reply("354 end with <CRLF>.<CRLF>");
                } else if (verb === "RSET" || verb === "NOOP") reply("250 ok");
                else if (verb === "QUIT") {
                    reply("221 bye");
                    socket.end();
                } else reply("502 not implemented");
            }
        });
        socket.on("error", () => socket.destroy());
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () =>
            resolve({
                mails,
                stop: () => new Promise<void>((res) => server.close(() => res())),
            }),
        );
    });
}
