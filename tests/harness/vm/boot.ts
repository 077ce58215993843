/**
 * Boots one role VM with its rendered user data and waits for cloud-init, for whoever works on
 * a role's template:
 *   npx ts-node --transpile-only tests/harness/vm/boot.ts <role> [--user-data FILE] [--keep]
 * Prints the SSH command, the cloud-init outcome and the seconds it took; `--keep` leaves the
 * VM running until Ctrl-C (otherwise it is stopped once cloud-init is done).
 */
import * as fs from "fs";
import * as path from "path";
import { isRoleName } from "../../../components/roles";
import { harnessInput, harnessUserData } from "./inputs";
import {
    ensureBaseImage,
    ensureSshKey,
    fakeVolumeSerial,
    makeVm,
    PRIVATE_IPS,
    VM_CACHE,
} from "./qemu";

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    const role = args.find((a) => !a.startsWith("--") && isRoleName(a));
    if (!role || !isRoleName(role)) {
        throw new Error("usage: boot.ts <web|xmldb|iiif|app|sandbox> [--user-data FILE] [--keep]");
    }
    const udIndex = args.indexOf("--user-data");
    const keep = args.includes("--keep");
    const workDir = path.join(VM_CACHE, "runs", `boot-${role}-${process.pid}`);
    const keyDir = path.join(VM_CACHE, "keys");
    const base = ensureBaseImage();
    const serial = fakeVolumeSerial();
    const key = ensureSshKey(keyDir);
    const userData =
        udIndex >= 0
            ? fs
                  .readFileSync(args[udIndex + 1] ?? "", "utf8")
                  .replace(/__SSH_KEY__/g, key.publicKey)
                  .replace(/__SERIAL__/g, serial)
            : harnessUserData(
                  harnessInput(role, { sshPublicKey: key.publicKey, dataVolumeSerial: serial }),
              );
    const vm = makeVm(
        {
            name: role,
            hostname: `vmtest-${role}-1`,
            privateIp: PRIVATE_IPS[role],
            workDir,
            userData,
            dataDisk: { path: path.join(workDir, "data.qcow2"), serial, sizeGb: 8 },
        },
        keyDir,
    );
    console.log(`work dir: ${workDir}\nssh: ssh -i ${vm.sshKey} debian@${PRIVATE_IPS[role]}`);
    await vm.start(base);
    try {
        const s = await vm.waitCloudInit(40 * 60_000);
        console.log(`${role}: cloud-init done in ${s.toFixed(0)} s`);
        if (keep) {
            console.log("running; Ctrl-C stops it");
            await new Promise(() => undefined);
        }
    } finally {
        await vm.stop();
        if (!keep) fs.rmSync(workDir, { recursive: true, force: true });
    }
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
