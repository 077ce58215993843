/** Loopback ports for tests that need one nothing listens on. */
import * as net from "net";

/** A free loopback port, closed again: nothing listens on it (until someone else takes it). */
export async function freePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((res) => s.listen(0, "127.0.0.1", res));
    const { port } = s.address() as net.AddressInfo;
    await new Promise<void>((res) => s.close(() => res()));
    return port;
}
