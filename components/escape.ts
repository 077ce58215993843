/**
 * One rule per sink. Every value from config that reaches a shell, an environment file, Nginx,
 * systemd or the operator's ssh config goes through the function of its sink here, and nowhere
 * else. Config validation (config.ts) refuses bad values at preview with the key named; these
 * are the last line: a value that slipped past it throws instead of reaching the sink.
 *
 * Shell: values are passed as data, never templated into scripts. The renderer writes them into
 * `/etc/ouvroir/settings.env` with `shellWord`, and the scripts source that file; a test checks
 * that no script under cloud-init/files/ holds a placeholder filled from config.
 */

/** Shell-quotes one word: safe in bash for any string (single quotes, `'\''` for a quote). */
export function shellWord(word: string): string {
    return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The one atomic write of every generated script (the applier, day-2, the backup setup): the
 * bash function `put PATH MODE BASE64`, defined once at the top of each script. The content
 * travels as base64 (no quoting pitfalls), is written beside the target and renamed over it, so
 * no reader ever sees half a file. A missing directory is made 0755; an existing one keeps its
 * owner and mode.
 */
export const PUT_FUNCTION =
    'put() { [[ -d "${1%/*}" ]] || install -d -m 0755 "${1%/*}"; printf %s "$3" | base64 -d >"$1.ouvroir-new"; chmod "$2" "$1.ouvroir-new"; mv -f "$1.ouvroir-new" "$1"; }';

/** One `put` line; a secret is written under umask 077, never readable by others for a moment. */
export function putFile(path: string, mode: string, content: string, secret = false): string {
    if (!path.startsWith("/") || !/^0[0-7]{3}$/.test(mode))
        throw new Error(`putFile: ${JSON.stringify(path)} ${mode}: an absolute path and a mode`);
    const line = `put ${shellWord(path)} ${shellWord(mode)} ${shellWord(Buffer.from(content, "utf8").toString("base64"))}`;
    return secret ? `(umask 077 && ${line})` : line;
}

/** Shell variable names of an environment file. */
const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/**
 * A bash-sourced environment file: one `NAME='value'` line per entry, each value quoted by
 * `shellWord`. (Not for systemd's EnvironmentFile=, which does not read `'\''`.)
 */
export function envFile(values: Readonly<Record<string, string>>): string {
    return (
        Object.entries(values)
            .map(([name, value]) => {
                if (!ENV_NAME.test(name)) throw new Error(`envFile: bad variable name ${name}`);
                return `${name}=${shellWord(value)}`;
            })
            .join("\n") + "\n"
    );
}

/** What may stand as one token in Nginx, systemd or ssh config: no space, quote, `;`, `{`, `}`, `$`, `#`, `\`. */
const TOKEN = /^[A-Za-z0-9._:/@%+=,~*-]+$/;

function token(sink: string, what: string, value: string): string {
    if (!TOKEN.test(value)) {
        throw new Error(
            `${what} ${JSON.stringify(value)} cannot be written to ${sink}: ` +
                "only letters, digits and . _ : / @ % + = , ~ * - are allowed",
        );
    }
    return value;
}

/** One Nginx token (a server name, an upstream `host:port`, a path prefix). */
export function nginxToken(what: string, value: string): string {
    return token("nginx", what, value);
}

/** One systemd unit value token (a calendar's words are checked one by one). */
export function systemdValue(what: string, value: string): string {
    for (const word of value.split(" ")) token("systemd", what, word);
    return value;
}

/** One token of the operator's ~/.ssh/config (a host alias, an address, a user name). */
export function sshConfigToken(what: string, value: string): string {
    return token("ssh config", what, value);
}
