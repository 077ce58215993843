/**
 * The cloud-config mechanics every role shares: YAML templates read from `cloud-init/`, merged
 * (maps deep, lists concatenated), their `{{placeholders}}` filled in parsed values, their
 * `source:` files inlined, the renderer's own `ouvroir:` key resolved, and the document written.
 * What a role adds is in its spec (components/roles/); what the document holds, in userData.ts.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

export type Yaml = null | boolean | number | string | Yaml[] | { [key: string]: Yaml };
export type YamlMap = { [key: string]: Yaml };

export function isMap(value: Yaml | undefined): value is YamlMap {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Maps deep-merged, lists concatenated (first one first), anything else: the later value wins. */
export function mergeCloudConfig(a: YamlMap, b: YamlMap): YamlMap {
    const out: YamlMap = { ...a };
    for (const [key, value] of Object.entries(b)) {
        const prev = out[key];
        if (Array.isArray(prev) && Array.isArray(value)) {
            out[key] = [...prev, ...value];
        } else if (isMap(prev) && isMap(value)) {
            out[key] = mergeCloudConfig(prev, value);
        } else {
            out[key] = value;
        }
    }
    return out;
}

export function readTemplate(dir: string, file: string): YamlMap {
    const doc = YAML.parse(fs.readFileSync(path.resolve(dir, file), "utf8")) as Yaml;
    if (!isMap(doc)) {
        throw new Error(`cloud-init/${file}: expected a mapping at the top level`);
    }
    return doc;
}

const PLACEHOLDER = /\{\{([A-Za-z0-9_]+)\}\}/g;

/** Fills `{{name}}` in every string of a parsed document; a whole-string placeholder may be a list. */
export function fillPlaceholders(
    node: Yaml,
    vars: Readonly<Record<string, Yaml>>,
    where = "",
): Yaml {
    if (Array.isArray(node)) {
        return node.map((item, i) => fillPlaceholders(item, vars, `${where}[${i}]`));
    }
    if (isMap(node)) {
        const out: YamlMap = {};
        for (const [key, value] of Object.entries(node)) {
            out[key] = fillPlaceholders(value, vars, where ? `${where}.${key}` : key);
        }
        return out;
    }
    if (typeof node !== "string") {
        return node;
    }
    const whole = /^\{\{([A-Za-z0-9_]+)\}\}$/.exec(node);
    if (whole?.[1] !== undefined && whole[1] in vars) {
        return vars[whole[1]] ?? null;
    }
    return node.replace(PLACEHOLDER, (_match, name: string) => {
        if (!(name in vars)) {
            throw new Error(`cloud-init: unknown placeholder {{${name}}} at ${where}`);
        }
        const value = vars[name];
        if (typeof value === "object" && value !== null) {
            throw new Error(`cloud-init: placeholder {{${name}}} at ${where} is a list or map`);
        }
        return String(value ?? "");
    });
}

export function readFileSource(dir: string, source: string): string {
    const file = path.resolve(dir, "files", source);
    if (!file.startsWith(path.resolve(dir, "files") + path.sep)) {
        throw new Error(`cloud-init: write_files source ${source} leaves cloud-init/files/`);
    }
    return fs.readFileSync(file, "utf8");
}

/** Replaces `source: <path under cloud-init/files/>` in write_files entries by the file's content. */
export function inlineFiles(doc: YamlMap, dir: string): YamlMap {
    const files = doc["write_files"];
    if (!Array.isArray(files)) {
        return doc;
    }
    const inlined = files.map((entry) => {
        if (!isMap(entry) || typeof entry["source"] !== "string") {
            return entry;
        }
        const { source, ...rest } = entry;
        return { ...rest, content: readFileSource(dir, source) };
    });
    return { ...doc, write_files: inlined };
}

/** The renderer's own key in the templates: variants chosen by the input, never sent to the VM. */
interface OuvroirKey {
    dataVolume?: YamlMap;
    noDataVolume?: YamlMap;
    /** `"<input field>=<value>"` → fragment merged when the input matches. */
    variants?: Record<string, YamlMap>;
}

function variantMatches(condition: string, flags: Readonly<Record<string, string>>): boolean {
    const [key, value] = condition.split("=");
    if (key === undefined || value === undefined || !(key in flags)) {
        throw new Error(`cloud-init: unknown variant condition "${condition}"`);
    }
    return flags[key] === value;
}

export function applyOuvroirKey(
    doc: YamlMap,
    flags: Readonly<Record<string, string>>,
    hasVolume: boolean,
): YamlMap {
    const { ouvroir, ...rest } = doc;
    let out: YamlMap = rest;
    if (ouvroir === undefined) {
        return out;
    }
    const key = ouvroir as OuvroirKey;
    const volumePart = hasVolume ? key.dataVolume : key.noDataVolume;
    if (volumePart !== undefined) {
        out = mergeCloudConfig(out, volumePart);
    }
    for (const [condition, fragment] of Object.entries(key.variants ?? {})) {
        if (variantMatches(condition, flags)) {
            out = mergeCloudConfig(out, fragment);
        }
    }
    return out;
}

/** An IPv4 address, checked before it reaches nftables or Nginx. */
export function ipv4(what: string, ip: string): string {
    if (!/^(\d{1,3})(\.\d{1,3}){3}$/.test(ip))
        throw new Error(`${what}: ${JSON.stringify(ip)} is not an IPv4 address`);
    return ip;
}

/** Pure: a built document as the `#cloud-config` text cloud-init reads. */
export function serializeCloudConfig(doc: YamlMap): string {
    return "#cloud-config\n" + YAML.stringify(doc, { lineWidth: 0, blockQuote: "literal" });
}
