// Does not prove the cloud's security groups (the first wall) nor an attacker's view from outside: it audits each guest from inside (Lynis, listening sockets, sshd's effective settings, update and ban services).
/**
 * Standalone runner of the hardening audit (tests/vm/hardening.ts), one role guest at a time on
 * its own trial IP: for iterating on base's hardening without the whole VM suite. CI runs the
 * same audit inside tests/vm/roles.test.ts on the guests it already boots.
 * OUVROIR_HARDENING_ROLES=iiif (default: every role) narrows the roles.
 */
import * as fs from "fs";
import * as path from "path";
import { RoleName, ROLE_NAMES } from "../../components/roles";
import { TEST_SITES } from "../harness/vm/inputs";
import { BaseImage, ensureBaseImage, Vm, VM_CACHE } from "../harness/vm/qemu";
import { waitHealthy } from "../harness/vm/roleVm";
import { BOOT_TIMEOUT_MS, TRIAL_IPS, trialVm } from "../harness/bench/day2";
import {
    auditHardening,
    hardeningFailures,
    hardeningFigure,
    hardeningReport,
    LYNIS_GOAL,
} from "./hardening";

/** A slot may be held by another run for an hour; then the boot; then the audit. */
jest.setTimeout(60 * 60_000 + BOOT_TIMEOUT_MS + 20 * 60_000);

const RUN_DIR = path.join(VM_CACHE, "runs", `hardening-${process.pid}`);
const ROLES_UNDER_TEST = (
    process.env.OUVROIR_HARDENING_ROLES?.split(",") ?? [...ROLE_NAMES]
).filter((r): r is RoleName => (ROLE_NAMES as readonly string[]).includes(r));

const figures: string[] = [];
let base: BaseImage;

beforeAll(() => {
    base = ensureBaseImage();
    fs.mkdirSync(RUN_DIR, { recursive: true });
});

afterAll(() => {
    console.log(
        [`Hardening (Lynis hardening index, goal ≥ ${LYNIS_GOAL}):`, ...figures].join("\n  "),
    );
    if (!process.env.OUVROIR_VM_KEEP) fs.rmSync(RUN_DIR, { recursive: true, force: true });
});

describe.each(ROLES_UNDER_TEST)("%s guest", (role) => {
    let vm: Vm | undefined;
    let boot = 0;

    afterAll(async () => {
        await vm?.stop();
    });

    it("is hardened: Lynis index, declared ports only, SSH keys only, updates, fail2ban", async () => {
        vm = trialVm({
            role,
            name: `harden-${role}`,
            privateIp: TRIAL_IPS.hardening,
            workDir: path.join(RUN_DIR, role),
            // The whole web server, PHP included: Lynis audits what production runs.
            sites: TEST_SITES,
        }).vm;
        // The harness's slot lock, as roles.test.ts: at most OUVROIR_VM_SLOTS guests at once.
        await vm.start(base, 60 * 60_000);
        await vm.waitCloudInit(BOOT_TIMEOUT_MS);
        boot = await waitHealthy(vm, role, 10 * 60_000);
        const audit = await auditHardening(vm, role);
        figures.push(`${hardeningFigure(audit)}; healthy after ${boot.toFixed(0)} s`);
        console.log(hardeningReport(audit));
        expect(hardeningFailures(audit)).toEqual([]);
    });
});
