// Pure: the host keys the program pins (components/hostKey.ts), checked by OpenSSH's own
// ssh-keygen, and how the user data carries them. Does not prove that sshd serves the key (the VM
// tests do) nor that the command provider refuses another key (only the cloud runs it).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { hostKeyFromSeed } from "../../components/hostKey";
import { buildCloudConfig, renderUserData } from "../../components/userData";
import { exampleInput } from "../harness/render-user-data";

describe("hostKeyFromSeed", () => {
    it("gives an OpenSSH Ed25519 key pair that ssh-keygen reads, the same for the same seed", () => {
        const key = hostKeyFromSeed("seed-1", "xmldb@ouvroir");
        expect(hostKeyFromSeed("seed-1", "xmldb@ouvroir")).toEqual(key);
        expect(hostKeyFromSeed("seed-2").publicKey).not.toBe(key.publicKey);
        expect(key.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}$/);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-hostkey-"));
        try {
            const file = path.join(dir, "ssh_host_ed25519_key");
            fs.writeFileSync(file, key.privateKey, { mode: 0o600 });
            const derived = execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" });
            expect(derived.trim()).toBe(`${key.publicKey} xmldb@ouvroir`);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("the user data with a pinned host key", () => {
    const key = hostKeyFromSeed("seed-web");
    it("installs only that key and generates no other", () => {
        const doc = YAML.parse(
            renderUserData({ ...exampleInput("web"), sshHostKey: key }),
        ) as Record<string, unknown>;
        expect(doc).toMatchObject({
            ssh_deletekeys: true,
            ssh_genkeytypes: ["ed25519"],
            ssh_keys: { ed25519_private: key.privateKey, ed25519_public: key.publicKey },
        });
        expect(Object.keys(doc.ssh_keys as object)).toEqual(["ed25519_private", "ed25519_public"]);
    });
    it("leaves cloud-init's own keys when there is none (a stack without day-2)", () => {
        const doc = YAML.parse(
            renderUserData({ ...exampleInput("web"), sshHostKey: undefined }),
        ) as Record<string, unknown>;
        expect(doc.ssh_keys).toBeUndefined();
        expect(doc.ssh_deletekeys).toBeUndefined();
    });
    it("closes the metadata service (which serves the user data) to every user but root", () => {
        const doc = buildCloudConfig(exampleInput("sandbox")) as unknown as {
            write_files: { path: string; content: string }[];
        };
        const nft = doc.write_files.find((f) => f.path === "/etc/nftables.conf")?.content ?? "";
        expect(nft).toMatch(/hook output[\s\S]*ip daddr 169\.254\.169\.254 meta skuid != 0 reject/);
    });
});
