/**
 * The user-data inputs the VM harness boots with: one per role, on the harness's private
 * network, with Debian's packages (`packageSource: "debian"`) since upstream downloads are not
 * reachable here. Shared by the VM tests, `npm run local` and the boot benchmark.
 */
import { RoleName, ROLES } from "../../../components/roles";
import {
    App,
    Download,
    Researcher,
    Site,
    UserDataInput,
    buildCloudConfig,
} from "../../../components/userData";
import type { AlertSettings } from "../../../components/monitoring";
import { firstBootDocument } from "../../../components/applier";
import { serializeCloudConfig } from "../../../components/cloudConfig";
import { HostKey, hostKeyFromSeed } from "../../../components/hostKey";
import { HOST_PRIVATE_IP, PRIVATE_IPS } from "./qemu";

/** The host key the harness pins for a role's guest (as the program does, from a seed). */
export function harnessHostKey(role: RoleName): HostKey {
    return hostKeyFromSeed(`vmtest-${role}`, `${role}@vmtest`);
}

/** Unreachable here, and unused with `packageSource: "debian"`; a valid shape all the same. */
const fakeDownload = (name: string): Download => ({
    version: "0.0.0",
    url: `https://downloads.invalid/${name}.zip`,
    sha256: "0".repeat(64),
});

export const PUBLIC_HOSTNAME = "ouvroir.test";

/**
 * One site of each kind, proxies to a Python (8001) and a Node.js (8002) app, and to a
 * researcher's container published on the sandbox host (8123, in its 8100-8199 range).
 */
export const TEST_SITES: readonly Site[] = [
    { name: "main", domains: [PUBLIC_HOSTNAME, `www.${PUBLIC_HOSTNAME}`], kind: "static" },
    {
        name: "pyapp",
        domains: [`py.${PUBLIC_HOSTNAME}`],
        kind: "proxy",
        upstreamRole: "app",
        upstreamPort: 8001,
    },
    {
        name: "nodeapp",
        domains: [`node.${PUBLIC_HOSTNAME}`],
        kind: "proxy",
        upstreamRole: "app",
        upstreamPort: 8002,
    },
    { name: "omeka", domains: [`omeka.${PUBLIC_HOSTNAME}`], kind: "php" },
    // A RESTXQ application of BaseX: only /edition/ is published (BaseX 9.7 here has no RESTXQ:
    // the test-only gateway answers it with a marker; the cloud's BaseX runs the app).
    {
        name: "edition",
        domains: [`edition.${PUBLIC_HOSTNAME}`],
        kind: "restxq",
        paths: ["/edition/"],
    },
    {
        name: "labapp",
        domains: [`lab.${PUBLIC_HOSTNAME}`],
        kind: "proxy",
        upstreamRole: "sandbox",
        upstreamPort: 8123,
    },
];

/**
 * Two lab apps with their own databases on the app server: the VM tests show each reads and
 * writes its own and is refused the other's (tests/vm/appDatabases.ts).
 */
export const HARNESS_APPS: readonly App[] = [
    { name: "notes", port: 8010, database: true },
    { name: "ledger", port: 8011, database: true },
];

export interface HarnessOptions {
    readonly sshPublicKey: string;
    readonly sites?: readonly Site[];
    readonly researchers?: readonly Researcher[];
    /** The self-serve researcher's own public key; without it only alice is listed. */
    readonly researcherKey?: string;
    readonly publicHostname?: string;
    readonly sqlEngine?: "mariadb" | "postgresql";
    readonly apps?: readonly App[];
    readonly dataVolumeSerial?: string;
    /** The monitoring host's receivers; default: e-mail to the harness's SMTP sink. */
    readonly alerts?: AlertSettings;
}

/** The ports of the harness's SMTP relay and webhook (smtpSink.ts) on this machine's bridge address. */
export const SMTP_SINK_PORT = 2525;
export const WEBHOOK_SINK_PORT = 2580;

/**
 * HARNESS STAND-IN: the relay's login and the webhook's URL (with its token), the stack's secrets
 * `ouvroir:alertSmtpPassword` and `ouvroir:alertWebhookUrl`. The VM test pushes them with the
 * program's own day-2 fragment (renderAlertSecretsSetup), as `pulumi up` does.
 */
export const HARNESS_ALERT_SECRETS = {
    username: "alertes-vmtest",
    smtpPassword: "Relay-pw 'quoted' $(not run)",
    webhookPath: "/hooks/T0KEN-vmtest",
} as const;

/**
 * HARNESS STAND-IN: the lab's relay is the SMTP sink on this machine. As a relay the lab is given,
 * it wants STARTTLS (its certificate from a test CA the test makes the guest trust) and a login
 * before it takes a mail; the webhook is a receiver beside it.
 */
export const HARNESS_ALERTS: AlertSettings = {
    email: {
        to: ["operateur@ouvroir.test"],
        from: "alertes@ouvroir.test",
        smarthost: `${HOST_PRIVATE_IP}:${SMTP_SINK_PORT}`,
        requireTls: true,
        username: HARNESS_ALERT_SECRETS.username,
    },
    webhook: true,
};

export function researcherFor(sshPublicKey: string): Researcher {
    return { name: "alice", sshPublicKeys: [sshPublicKey], cpuPercent: 100, memoryMiB: 1024 };
}

/**
 * The researcher who logs in by herself: her own key only (not the harness's), so the VM test
 * reaches her sandbox account through her jump account on the bastion, as the README says.
 */
export function selfServeResearcher(sshPublicKey: string): Researcher {
    return { name: "bruno", sshPublicKeys: [sshPublicKey], cpuPercent: 100, memoryMiB: 1024 };
}

export function harnessInput(role: RoleName, o: HarnessOptions): UserDataInput {
    return {
        role,
        hostname: `vmtest-${role}-1`,
        adminUser: "debian",
        sshAuthorizedKeys: [o.sshPublicKey],
        sshHostKey: harnessHostKey(role),
        dataVolumeSerial: o.dataVolumeSerial,
        publicHostname: o.publicHostname ?? PUBLIC_HOSTNAME,
        sites: o.sites ?? TEST_SITES,
        upstreams: { ...PRIVATE_IPS },
        researchers: o.researchers ?? [
            researcherFor(o.sshPublicKey),
            ...(o.researcherKey ? [selfServeResearcher(o.researcherKey)] : []),
        ],
        apps: o.apps ?? HARNESS_APPS,
        ...(ROLES[role].takes.includes("alerts") ? { alerts: o.alerts ?? HARNESS_ALERTS } : {}),
        sqlEngine: o.sqlEngine ?? "mariadb",
        packageSource: "debian",
        downloads: {
            cantaloupe: fakeDownload("cantaloupe"),
            basex: fakeDownload("basex"),
            julia: fakeDownload("julia"),
            saxon: fakeDownload("saxon"),
        },
    };
}

/**
 * HARNESS STAND-IN, never in the product: the host firewall plus one rule that lets this machine
 * (the bridge's address) SSH to the guest directly. On the cloud only the bastion may; the
 * harness drives private guests without going through it.
 */
export function harnessNftables(content: string): string {
    const marker = "        udp dport { 68, 546 } accept\n";
    if (!content.includes(marker)) throw new Error("harness: nftables.conf changed shape");
    return content.replace(
        marker,
        `${marker}        ip saddr ${HOST_PRIVATE_IP} tcp dport 22 accept comment "harness host (test only)"\n`,
    );
}

/** HARNESS STAND-IN: the user data `renderUserData` gives, with `harnessNftables`. */
export function harnessUserData(input: UserDataInput): string {
    const doc = buildCloudConfig(input);
    const files = doc["write_files"] as { path: string; content: string }[];
    const nft = files.find((f) => f.path === "/etc/nftables.conf");
    if (!nft) throw new Error("harness: the user data has no /etc/nftables.conf");
    nft.content = harnessNftables(nft.content);
    return serializeCloudConfig(firstBootDocument(input, doc));
}

/**
 * HARNESS STAND-IN: a day-2 script as `renderDay2Script` gives it, with `harnessNftables` in the
 * firewall its applier writes (else the guest would drop this machine's next SSH connection).
 */
export function harnessDay2Script(script: string): string {
    const applier = /^put '\/usr\/local\/sbin\/ouvroir-apply' '0700' '([A-Za-z0-9+/=]+)'$/m;
    const nft = /^put '\/etc\/nftables\.conf' '0644' '([A-Za-z0-9+/=]+)'$/m;
    const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");
    const text = (b64: string): string => Buffer.from(b64, "base64").toString("utf8");
    const m = applier.exec(script);
    if (!m || !nft.test(text(m[1] as string)))
        throw new Error("harness: the day-2 script writes no /etc/nftables.conf");
    const patched = text(m[1] as string).replace(
        nft,
        (_l, content: string) =>
            `put '/etc/nftables.conf' '0644' '${b64(harnessNftables(text(content)))}'`,
    );
    return script.replace(applier, `put '/usr/local/sbin/ouvroir-apply' '0700' '${b64(patched)}'`);
}

/**
 * HARNESS STAND-IN for the stack's random secrets that day-2 writes (the program makes them with
 * @pulumi/random): fixed test values, letters and digits as the program's are.
 */
export function harnessSecrets(input: UserDataInput): Record<string, string> {
    return Object.fromEntries(
        ROLES[input.role].apply
            .secrets(input)
            .map((s) => [s.name, `vmtest${s.name.replace(/[^A-Za-z0-9]/g, "")}0123456789`]),
    );
}
