/** The sandbox host: rootless Docker for researchers, one account and one slice each. */
import { YamlMap } from "../cloudConfig";
import { putFile, shellWord as q } from "../escape";
import type { UserDataInput } from "../userData";
import { FROM_WEB, nodeExporter, RoleSpec, ssh } from "./types";

const DATA = "/srv/data";
/** The account step the applier installs and runs. */
const ACCOUNTS = "/usr/local/sbin/ouvroir-accounts";

export const sandbox: RoleSpec<"sandbox"> = {
    name: "sandbox",
    typeToken: "ouvroir:vm:SandboxHost",
    short: "sandbox",
    description: "Rootless Docker sandboxes for researchers",
    public: false,
    stateful: true,
    ports: [
        ssh(FROM_WEB),
        { name: "sandbox-web", port: 8100, portMax: 8199, from: FROM_WEB, proxy: true },
        nodeExporter,
    ],
    minVcpus: 2,
    minRamGb: 3,
    defaultFlavor: "p2-3.75gb",
    defaultDataVolumeGb: 100,
    dataMountPoint: DATA,
    researcherLogin: true,
    takes: ["researchers"],
    cloudInit: { template: "sandbox-host.yaml", parts: (input) => sandboxParts(input) },
    // The accounts before the template's commands: sandbox-setup configures each one's Docker.
    apply: { secrets: () => [], script: (input) => accountsScript(input) },
    // Each researcher's rootless Docker is a user unit, which the systemd collector does not
    // see: node-metrics reports it (ouvroir_service_up{service="docker@<name>"}). Not user@…:
    // an operator's session ends with its own user manager, which is not a failure.
    monitor: { units: [], probes: [] },
    backup: {
        dumps: [],
        // Rootless Docker's image and container store: rebuilt from the researchers' Dockerfiles;
        // copying a live overlay store would not restore anyway.
        excludes: [`${DATA}/home/*/docker`, `${DATA}/home/*/.cache`],
        services: [],
        afterRestore: ["/usr/local/sbin/ouvroir-sandbox-setup"],
    },
};

/** Each researcher's slice limits, read by sandbox-setup. */
export function sandboxParts(input: UserDataInput): YamlMap {
    const limits = input.researchers
        .map((r) => `${r.name} ${r.cpuPercent} ${r.memoryMiB}`)
        .join("\n");
    return {
        write_files: [
            {
                path: "/etc/ouvroir/researchers",
                permissions: "0644",
                content: limits === "" ? "" : limits + "\n",
            },
        ],
    };
}

/**
 * The applier's account step, installed as /usr/local/sbin/ouvroir-accounts and run: creates the
 * accounts listed (no password, no sudo, their own keys, home on the volume), and locks the ones
 * removed from the list (expired, keys gone, processes stopped) but keeps their files on the
 * volume: taking a researcher out must never delete data.
 */
export function accountsScript(input: UserDataInput): string[] {
    const names = input.researchers.map((r) => r.name);
    const script = [
        "#!/bin/bash",
        "set -euo pipefail",
        `install -d -m 0755 ${q(`${DATA}/home`)}`,
        ...input.researchers.flatMap((r) => [
            `if id -u ${q(r.name)} >/dev/null 2>&1; then`,
            // A system account of that name (www-data, …) never gets a researcher's keys.
            `    (($(id -u ${q(r.name)}) >= 1000)) || { echo ${q(`ouvroir-accounts: ${r.name} is a system account on the sandbox host; rename the researcher in ouvroir:researchers`)} >&2; exit 1; }`,
            "else",
            `    useradd --create-home --home-dir ${q(`${DATA}/home/${r.name}`)} --shell /bin/bash --comment Researcher ${q(r.name)}`,
            "fi",
            `usermod --expiredate '' ${q(r.name)} 2>/dev/null`, // "no changes" is the usual case
            `install -d -m 0700 -o ${q(r.name)} -g ${q(r.name)} ~${r.name}/.ssh`,
            `printf '%s\\n' ${r.sshPublicKeys.map(q).join(" ")} > ~${r.name}/.ssh/authorized_keys`,
            `chown ${q(r.name)}: ~${r.name}/.ssh/authorized_keys && chmod 0600 ~${r.name}/.ssh/authorized_keys`,
        ]),
        "known=/var/lib/ouvroir/researchers.known",
        'install -d -m 0755 /var/lib/ouvroir && touch "$known"',
        `keep=${q(` ${names.join(" ")} `)}`,
        "while read -r old; do",
        '    [[ -n "$old" && "$keep" != *" $old "* ]] || continue',
        '    id -u "$old" >/dev/null 2>&1 || continue',
        '    usermod --expiredate 1 "$old"',
        '    rm -f "$(getent passwd "$old" | cut -d: -f6)/.ssh/authorized_keys"',
        '    loginctl disable-linger "$old" 2>/dev/null || true',
        '    pkill -KILL -u "$old" 2>/dev/null || true',
        '    echo "ouvroir-accounts: researcher $old removed from the list: account locked, files kept"',
        'done <"$known"',
        `printf '%s\\n' ${names.length > 0 ? names.map(q).join(" ") : "''"} | sed '/^$/d' >"$known"`,
    ].join("\n");
    return [putFile(ACCOUNTS, "0755", script + "\n"), ACCOUNTS];
}
