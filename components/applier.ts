/**
 * The one applier: a role's desired state (the cloud-config document userData.ts builds from
 * base.yaml, the role's template and its spec) rendered as one idempotent bash script,
 * `/usr/local/sbin/ouvroir-apply`. cloud-init only bootstraps (host name, admin user, host key,
 * data volume, apt settings) and runs it at first boot; every day-2 push writes the script anew
 * and runs it again (day2.ts). So first boot and day-2 run the same code: a package, a file or
 * a service step added to a role reaches running VMs with the next `pulumi up`.
 *
 * What it does, in cloud-init's own order: the files (except the deferred ones), the packages
 * not yet installed, the deferred files (written over what a package installed), the stale
 * files the spec prunes, the operators' keys, the role's script (researcher accounts), then
 * the commands (`runcmd` of the templates: each role's setup, safe to re-run). It stops at the
 * first failure and says where (cloud-init's log at first boot, day-2's error after).
 */
import { gzipSync } from "zlib";
import { Yaml, YamlMap, isMap } from "./cloudConfig";
import { PUT_FUNCTION, putFile, shellWord as q } from "./escape";
import { ROLES } from "./roles";
import type { UserDataInput } from "./userData";

/** Where the applier lives on every VM. */
export const APPLIER_PATH = "/usr/local/sbin/ouvroir-apply";

/** The cloud-config keys the applier takes over; cloud-init keeps the rest (the bootstrap). */
const APPLIED_KEYS = ["packages", "write_files", "runcmd", "package_update", "package_upgrade"];

interface File {
    readonly path: string;
    readonly content: string;
    readonly permissions: string;
    readonly defer: boolean;
}

function filesOf(doc: YamlMap): File[] {
    const list = Array.isArray(doc["write_files"]) ? doc["write_files"] : [];
    return list.filter(isMap).map((f) => {
        if (typeof f["path"] !== "string" || !f["path"].startsWith("/"))
            throw new Error(`applier: a write_files entry has no absolute path`);
        if (f["encoding"] !== undefined || f["owner"] !== undefined || f["append"] === true)
            throw new Error(`applier: ${f["path"]}: encoding, owner and append are not supported`);
        return {
            path: f["path"],
            content: typeof f["content"] === "string" ? f["content"] : "",
            permissions: typeof f["permissions"] === "string" ? f["permissions"] : "0644",
            defer: f["defer"] === true,
        };
    });
}

/** A runcmd entry as one shell line: a list is quoted word by word, a string runs as written. */
function commandLine(entry: Yaml): string {
    if (typeof entry === "string") return entry;
    if (Array.isArray(entry)) return entry.map((w) => q(String(w))).join(" ");
    throw new Error(
        `applier: runcmd entry ${JSON.stringify(entry)} is neither a list nor a string`,
    );
}

const put = (f: File): string => putFile(f.path, f.permissions, f.content);

/** Pure: the applier script for a role's input and its built document. */
export function renderApplier(input: UserDataInput, doc: YamlMap): string {
    const spec = ROLES[input.role];
    const files = filesOf(doc);
    const packages = (Array.isArray(doc["packages"]) ? doc["packages"] : []).map(String);
    for (const p of packages)
        if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p)) throw new Error(`applier: package name ${p}`);
    const runcmd = Array.isArray(doc["runcmd"]) ? doc["runcmd"] : [];
    const lines = [
        "#!/bin/bash",
        `# ouvroir-apply for ${input.hostname} (${input.role}): rendered by components/applier.ts.`,
        "# Run by cloud-init at first boot and by every day-2 push; safe to re-run.",
        "set -euo pipefail",
        "umask 022",
        "export DEBIAN_FRONTEND=noninteractive",
        `trap 'echo "ouvroir-apply: failed (exit $?) at: $BASH_COMMAND" >&2' ERR`,
        'step() { echo "ouvroir-apply: $*"; }',
        "# put PATH MODE BASE64: written beside, then renamed over (never a half-written file).",
        PUT_FUNCTION,
        "step files",
        ...files.filter((f) => !f.defer).map(put),
        "step packages",
        // One dpkg-query for all (one process, one read of dpkg's database: a day-2 push
        // checks them all every time), then the ones not installed.
        `wanted=(${packages.map(q).join(" ")})`,
        `have="$(dpkg-query -W -f='\${Package} \${Status}\\n' "\${wanted[@]}" 2>/dev/null || true)"`,
        "declare -A installed=()",
        'while read -r name state; do if [[ "$state" == "install ok installed" ]]; then installed[$name]=1; fi; done <<<"$have"',
        "missing=()",
        'for p in "${wanted[@]}"; do [[ -n "${installed[$p]:-}" ]] || missing+=("$p"); done',
        "if ((${#missing[@]} > 0)); then",
        '    step "installing ${missing[*]}"',
        "    apt-get update -q",
        '    apt-get install -y -q -o Dpkg::Options::=--force-confold "${missing[@]}"',
        "fi",
        "step files after packages",
        ...files.filter((f) => f.defer).map(put),
    ];
    const prune = spec.apply.prune;
    if (prune) {
        const keep = files
            .filter((f) => f.path.startsWith(prune.dir + "/"))
            .map((f) => f.path.split("/").pop() as string);
        lines.push(
            `for f in ${q(prune.dir)}/*${q(prune.suffix)}; do`,
            `    [[ -e "$f" ]] || continue`,
            `    case "$(basename "$f")" in ${keep.length > 0 ? keep.map(q).join("|") : "''"}) ;; *) rm -f "$f"${prune.alsoIn ? ` ${q(prune.alsoIn)}/"$(basename "$f")"` : ""} ;; esac`,
            "done",
        );
    }
    // The operators' keys (ouvroir:sshPublicKeys): the list replaces the file, so a key added
    // or removed later reaches every VM.
    const admin = q(input.adminUser);
    lines.push(
        "step operator keys",
        `home="$(getent passwd ${admin} | cut -d: -f6)"`,
        `install -d -m 0700 -o ${admin} -g "$(id -gn ${admin})" "$home/.ssh"`,
        `printf '%s\\n' ${input.sshAuthorizedKeys.map(q).join(" ")} > "$home/.ssh/authorized_keys.ouvroir-new"`,
        `chown ${admin}: "$home/.ssh/authorized_keys.ouvroir-new" && chmod 0600 "$home/.ssh/authorized_keys.ouvroir-new"`,
        `mv -f "$home/.ssh/authorized_keys.ouvroir-new" "$home/.ssh/authorized_keys"`,
    );
    const script = spec.apply.script?.(input) ?? [];
    if (script.length > 0) lines.push(`step ${q(`${input.role} script`)}`, ...script);
    lines.push(
        "step commands",
        ...runcmd.map(commandLine),
        // The enables above pass --no-reload (a reload takes seconds under emulation) and leave
        // systemd's view of the unit files stale: every later `systemctl restart` (a day-2
        // step's, an operator's) then warns that files changed on disk. One reload at the end.
        "systemctl daemon-reload",
        'step "done"',
    );
    return lines.join("\n") + "\n";
}

/**
 * Pure: what cloud-init gets: the document without what the applier does, plus the applier
 * (compressed: Nova takes 64 KiB of user data) and the one command that runs it.
 */
export function firstBootDocument(input: UserDataInput, doc: YamlMap): YamlMap {
    const out: YamlMap = {};
    for (const [key, value] of Object.entries(doc))
        if (!APPLIED_KEYS.includes(key)) out[key] = value;
    const applier = gzipSync(Buffer.from(renderApplier(input, doc), "utf8"), { level: 9 });
    out["write_files"] = [
        {
            path: APPLIER_PATH,
            permissions: "0700",
            encoding: "gz+b64",
            content: applier.toString("base64"),
        },
    ];
    out["runcmd"] = [[APPLIER_PATH]];
    return out;
}
