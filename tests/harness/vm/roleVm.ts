/**
 * One role's VM as the harness boots it: the role's rendered user data, its private IP, a data
 * disk with a fake Cinder serial, and a per-role health check run in the guest. Shared by the VM
 * tests, `npm run local` and the boot benchmark.
 */
import * as fs from "fs";
import * as path from "path";
import { RoleName } from "../../../components/roles";
import { UserDataInput } from "../../../components/userData";
import { harnessInput, HarnessOptions, harnessUserData } from "./inputs";
import {
    DataDisk,
    ensureSshKey,
    fakeVolumeSerial,
    makeVm,
    PRIVATE_IPS,
    Vm,
    VM_CACHE,
} from "./qemu";

/** Guest memory: the Java roles need their 3 GB flavor's worth; two guests fit this machine. */
export const MEMORY_MIB: Record<RoleName, number> = {
    web: 2048,
    xmldb: 3072,
    iiif: 3072,
    app: 3072,
    sandbox: 3072,
};

export interface RoleVmOptions {
    readonly role: RoleName;
    /** qemu -name and log prefix; default the role. */
    readonly name?: string;
    /** Default the role's harness IP (qemu.ts PRIVATE_IPS); the trials use IPs of their own. */
    readonly privateIp?: string;
    readonly workDir: string;
    readonly keyDir: string;
    /** Reuse this data disk (persistent volume); default: a new 8 GB disk in workDir. */
    readonly dataDisk?: DataDisk;
    readonly hostForwards?: readonly { host: number; guest: number }[];
    readonly keepRoot?: boolean;
    /** Overrides of the harness input (sites, researchers, …). */
    readonly input?: Partial<HarnessOptions>;
    /** Replaces the rendered document (the benchmark's floor VM). */
    readonly userData?: (input: UserDataInput) => string;
    readonly log?: (line: string) => void;
    /** A fixed slot outside the process's range (qemu.ts VmSpec.slot). */
    readonly slot?: number;
}

export function defaultKeyDir(): string {
    return path.join(VM_CACHE, "keys");
}

/** The self-serve researcher's key pair (inputs.ts selfServeResearcher), made once. */
export function researcherKeyPair(): { privateKey: string; publicKey: string } {
    return ensureSshKey(path.join(defaultKeyDir(), "researcher"));
}

export function roleVm(o: RoleVmOptions, publicKey: string): { vm: Vm; input: UserDataInput } {
    const dataDisk = o.dataDisk ?? {
        path: path.join(o.workDir, "data.qcow2"),
        serial: fakeVolumeSerial(),
        sizeGb: 8,
    };
    const input = harnessInput(o.role, {
        sshPublicKey: publicKey,
        researcherKey: researcherKeyPair().publicKey,
        dataVolumeSerial: dataDisk.serial,
        ...o.input,
    });
    const userData = (o.userData ?? harnessUserData)(input);
    fs.mkdirSync(o.workDir, { recursive: true });
    const vm = makeVm(
        {
            name: o.name ?? o.role,
            hostname: input.hostname,
            userData,
            privateIp: o.privateIp ?? PRIVATE_IPS[o.role],
            workDir: o.workDir,
            adminUser: input.adminUser,
            dataDisk,
            hostForwards: o.hostForwards,
            memoryMiB: MEMORY_MIB[o.role],
            keepRoot: o.keepRoot,
            log: o.log,
            slot: o.slot,
        },
        o.keyDir,
    );
    return { vm, input };
}

/**
 * In-guest checks that a role's services answer; the same for the tests, the benchmark and its
 * floor (so both are timed to the same "healthy"). Exit 0 when healthy.
 */
export const HEALTH: Record<RoleName, string> = {
    web: "systemctl is-active --quiet nginx && curl -sk -o /dev/null https://127.0.0.1/",
    // BaseX itself answers a query (the gateway alone answers 401 without it, 503 while it starts).
    xmldb:
        'pw="$(sudo cat /srv/data/basex/admin-password)" && ' +
        "curl -sf -u \"admin:$pw\" -G http://127.0.0.1:8080/rest --data-urlencode 'query=6*7' | grep -qx 42",
    iiif: "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8182/ | grep -qE '^[234]'",
    app: "systemctl is-active --quiet mariadb 2>/dev/null || systemctl is-active --quiet postgresql",
    // Every researcher's rootless Docker answers on its socket (no root daemon by design).
    sandbox:
        "for u in $(cut -d' ' -f1 /etc/ouvroir/researchers); do " +
        'sudo test -S "/run/user/$(id -u "$u")/docker.sock" || exit 1; done',
};

/** Polls the role's health check until it passes; returns seconds since the VM started. */
export async function waitHealthy(vm: Vm, role: RoleName, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const r = await vm.ssh(HEALTH[role], 60_000);
        if (r.code === 0) return (Date.now() - vm.startedAt) / 1000;
        if (Date.now() > deadline) {
            throw new Error(`${role}: not healthy after ${timeoutMs / 1000} s: ${r.stderr}`);
        }
        await new Promise((res) => setTimeout(res, 3000));
    }
}
