/**
 * After an interrupted `up` (killed, out of power, CI timeout): make the state and the cloud agree
 * again, so the next `up` neither duplicates nor loses anything.
 *
 * An interrupted `up` leaves (1) the backend's lock, and (2) "pending creates": resources whose
 * create was sent to the cloud but whose id never reached the state. The next `up` would create
 * them again beside the first ones (Nova, Cinder and Neutron accept duplicate names). The engine
 * can import a pending create by id (`refresh --import-pending-creates`), but with this engine
 * and provider the imported resource did not reach the state (tried 2026-12-06), so we do not
 * rely on it. Instead, for each pending create this finds the cloud object by the name the
 * program gave it, created after the stack's last completed update and absent from the state:
 * an orphan of the interrupted `up`, new and empty (never a data volume that held data: those are
 * in the state). It deletes those orphans with the `openstack` CLI, then clears the pending
 * creates with `refresh --clear-pending-creates`, and the next `up` creates them cleanly.
 * Links (a router interface, a volume attachment, a floating IP association, a security-group
 * rule) are undone between the objects the state holds, so that `up` makes them again. What it
 * cannot place is listed for the operator to check.
 */
import { execFileSync } from "child_process";
import { Stack } from "@pulumi/pulumi/automation";

/**
 * How to list and delete each resource type the program names, with the `openstack` CLI: by its
 * name, or (a floating IP has none) by the description the program gives it.
 */
const NAMED: Record<
    string,
    { noun: string[]; created: string; deleteFlags: string[]; by?: "Description" }
> = {
    "openstack:networking/floatingIp:FloatingIp": {
        noun: ["floating", "ip"],
        created: "created_at",
        deleteFlags: [],
        by: "Description",
    },
    "openstack:compute/instance:Instance": {
        noun: ["server"],
        created: "created",
        deleteFlags: ["--wait"],
    },
    "openstack:blockstorage/volume:Volume": {
        noun: ["volume"],
        created: "created_at",
        deleteFlags: [],
    },
    "openstack:networking/port:Port": { noun: ["port"], created: "created_at", deleteFlags: [] },
    "openstack:networking/network:Network": {
        noun: ["network"],
        created: "created_at",
        deleteFlags: [],
    },
    "openstack:networking/subnet:Subnet": {
        noun: ["subnet"],
        created: "created_at",
        deleteFlags: [],
    },
    "openstack:networking/router:Router": {
        noun: ["router"],
        created: "created_at",
        deleteFlags: [],
    },
    "openstack:networking/secGroup:SecGroup": {
        noun: ["security", "group"],
        created: "created_at",
        deleteFlags: [],
    },
};

interface PendingOp {
    type: string;
    resource: { urn: string; type: string; inputs?: Record<string, unknown> };
}

export interface Recovery {
    pending: string[];
    deleted: string[];
    unresolved: string[];
}

/** The `openstack` CLI; a dropped connection (an API restarting, a busy cloud) is tried again. */
function openstack(args: string[], tries = 4): string {
    for (let i = 1; ; i++) {
        try {
            return execFileSync("openstack", args, {
                encoding: "utf8",
                env: process.env,
                stdio: ["ignore", "pipe", "pipe"],
            });
        } catch (e) {
            const err = String((e as { stderr?: unknown }).stderr ?? e);
            if (
                i >= tries ||
                !/Unable to establish connection|Connection reset|Service Unavailable|50[234]/.test(
                    err,
                )
            )
                throw e;
            execFileSync("sleep", [String(3 * i)]);
        }
    }
}

/** Quietly ignores "already gone" answers: what we remove may not have been made. */
function tolerant(args: string[]): void {
    try {
        openstack(args);
    } catch (e) {
        const err = String((e as { stderr?: unknown }).stderr ?? e);
        if (
            !/not found|No \w+ with a name or ID|Could not find|has no interface|is not attached|not associated/i.test(
                err,
            )
        )
            throw e;
    }
}

/**
 * Links between objects in the state (an interface, an attachment, an association, a rule) that
 * an interrupted create may have made: undone, so that `up` makes them again. Returns false for
 * a type it does not know. Each undo only touches objects the stack holds (ids from the inputs).
 */
function undoLink(type: string, i: Record<string, unknown>, known: Set<unknown>): boolean {
    const str = (k: string): string => String(i[k] ?? "");
    switch (type) {
        case "openstack:networking/routerInterface:RouterInterface":
            if (known.has(str("routerId")))
                tolerant(["router", "remove", "subnet", str("routerId"), str("subnetId")]);
            return true;
        case "openstack:compute/volumeAttach:VolumeAttach":
            if (known.has(str("instanceId")) && known.has(str("volumeId")))
                tolerant(["server", "remove", "volume", str("instanceId"), str("volumeId")]);
            return true;
        case "openstack:networking/floatingIpAssociate:FloatingIpAssociate":
            tolerant(["floating", "ip", "unset", "--port", str("floatingIp")]);
            return true;
        case "openstack:networking/secGroupRule:SecGroupRule": {
            if (!known.has(str("securityGroupId"))) return true;
            const rules = JSON.parse(
                openstack([
                    "security",
                    "group",
                    "rule",
                    "list",
                    str("securityGroupId"),
                    "--long",
                    "-f",
                    "json",
                ]),
            ) as Record<string, unknown>[];
            const range = (r: Record<string, unknown>): string => String(r["Port Range"] ?? "");
            const want =
                i["portRangeMin"] === undefined
                    ? ""
                    : `${str("portRangeMin")}:${str("portRangeMax")}`;
            for (const r of rules) {
                const same =
                    String(r["Direction"]) === str("direction") &&
                    String(r["Ethertype"]) === str("ethertype") &&
                    String(r["IP Protocol"] ?? "").toLowerCase() ===
                        str("protocol").toLowerCase() &&
                    range(r) === want &&
                    String(r["IP Range"] ?? "") ===
                        (i["remoteIpPrefix"] === undefined ? "" : str("remoteIpPrefix")) &&
                    String(r["Remote Security Group"] ?? "") ===
                        (i["remoteGroupId"] === undefined ? "" : str("remoteGroupId"));
                if (same && !known.has(String(r["ID"])))
                    tolerant(["security", "group", "rule", "delete", String(r["ID"])]);
            }
            return true;
        }
        default:
            return false;
    }
}

/** Cancels, deletes the orphans of pending creates, clears them. Logs each step with `log`. */
export async function recover(
    stack: Stack,
    log: (s: string) => void = console.log,
): Promise<Recovery> {
    // A killed `up` keeps the backend's lock; cancel removes it (and fails harmlessly if none).
    await stack.cancel().catch(() => undefined);
    const state = (await stack.exportStack()) as {
        deployment: {
            resources?: { id?: string }[];
            pending_operations?: PendingOp[];
        };
    };
    const pending = (state.deployment.pending_operations ?? []).filter(
        (op) => op.type === "creating",
    );
    const result: Recovery = { pending: [], deleted: [], unresolved: [] };
    if (pending.length === 0) {
        log("recover: no pending creates; the state is consistent");
        return result;
    }
    const known = new Set((state.deployment.resources ?? []).map((r) => r.id).filter(Boolean));
    // Orphans are younger than the last completed update (the interrupted one is not in history).
    const last = (await stack.history(1))[0];
    const since = last?.endTime ? new Date(last.endTime).getTime() : 0;
    for (const op of pending) {
        const what = `${op.resource.type} ${op.resource.urn.split("::").pop()}`;
        result.pending.push(what);
        if (undoLink(op.resource.type, op.resource.inputs ?? {}, known)) {
            result.deleted.push(`${what} (undone)`);
            log(`recover: ${what}: undone if it was made`);
            continue;
        }
        const how = NAMED[op.resource.type];
        const field = how?.by ?? "Name";
        const name = op.resource.inputs?.[field === "Name" ? "name" : "description"];
        if (!how || typeof name !== "string" || name === "") {
            result.unresolved.push(what);
            log(`recover: ${what}: cannot be found by name; check the cloud by hand`);
            continue;
        }
        const listed = JSON.parse(
            openstack([
                ...how.noun,
                "list",
                ...(how.by ? ["--long"] : []),
                "-f",
                "json",
                "-c",
                "ID",
                "-c",
                field,
            ]),
        ) as Record<string, string>[];
        for (const o of listed
            .filter((x) => x[field] === name && !known.has(x.ID))
            .map((x) => ({ ID: x.ID as string }))) {
            const shown = JSON.parse(
                openstack([...how.noun, "show", "-f", "json", o.ID]),
            ) as Record<string, unknown>;
            // OpenStack's times are UTC; Cinder and Neutron write them without a zone.
            const at = String(shown[how.created] ?? "");
            const created = Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(at) ? at : `${at}Z`);
            if (!(created >= since)) {
                result.unresolved.push(`${what} (${o.ID}: older than the last update, kept)`);
                log(
                    `recover: ${what}: ${o.ID} is older than the last update: kept, check it by hand`,
                );
                continue;
            }
            try {
                openstack([...how.noun, "delete", ...how.deleteFlags, o.ID]);
            } catch (e) {
                // A retried delete whose first try went through: it is gone, as wanted.
                if (
                    !/No \w+ with a name or ID|Could not find|not found/i.test(
                        String((e as { stderr?: unknown }).stderr ?? e),
                    )
                )
                    throw e;
            }
            result.deleted.push(`${what} ${o.ID}`);
            log(
                `recover: ${what}: deleted the orphan ${o.ID} (created ${String(shown[how.created])})`,
            );
        }
    }
    await stack.refresh({ clearPendingCreates: true, onOutput: () => undefined });
    log(`recover: ${pending.length} pending create(s) cleared; run up to create them again`);
    return result;
}
