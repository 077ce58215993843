/**
 * Is our bridged provider the provider the npm SDK was written for? Compares the Pulumi schema
 * that `pulumi-resource-openstack schema` prints (tools/engine/openstack) with the SDK
 * @pulumi/openstack that package-lock.json pins: every token, and for each resource and function
 * the property names of its inputs and outputs with their kinds (string, number, boolean, array
 * of, map of, object). The SDK side is read from its .d.ts files with the TypeScript compiler.
 *
 *   npx ts-node --transpile-only tools/engine/schema-check.ts <schema.json> [--used a,b,...]
 *
 * Exit 1 when a token or property the program uses (USED below, or --used) differs; every other
 * difference is reported and counted. Prints one summary line: "schema check: ...".
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

/**
 * The tokens the program uses, each with the properties it sets (inputs, from a mock run of every
 * stack: tests/stacks/providerSchema.test.ts keeps this in step) and reads (outputs, by name in
 * components/). A difference in one of these fails the check.
 */
export const USED: Record<string, readonly string[]> = {
    "openstack:blockstorage/volume:Volume": [
        "description",
        "enableOnlineResize",
        "id",
        "name",
        "size",
        "volumeType",
    ],
    "openstack:compute/instance:Instance": [
        "blockDevices",
        "flavorName",
        "id",
        "metadata",
        "name",
        "networks",
        "userData",
    ],
    "openstack:blockstorage/getVolumeV3:getVolumeV3": ["name", "id", "size"],
    "openstack:compute/volumeAttach:VolumeAttach": ["instanceId", "volumeId"],
    "openstack:images/getImage:getImage": ["mostRecent", "name", "nameRegex", "id"],
    "openstack:networking/floatingIp:FloatingIp": ["address", "description", "id", "pool"],
    "openstack:networking/floatingIpAssociate:FloatingIpAssociate": ["floatingIp", "portId"],
    "openstack:networking/getSubnet:getSubnet": ["cidr", "id", "subnetId"],
    "openstack:networking/getNetwork:getNetwork": ["external", "name", "id"],
    "openstack:networking/network:Network": ["adminStateUp", "id", "name"],
    "openstack:networking/port:Port": [
        "adminStateUp",
        "allFixedIps",
        "fixedIps",
        "id",
        "name",
        "networkId",
        "securityGroupIds",
    ],
    "openstack:networking/router:Router": ["externalNetworkId", "id", "name"],
    "openstack:networking/routerInterface:RouterInterface": ["routerId", "subnetId"],
    "openstack:networking/secGroup:SecGroup": ["description", "id", "name"],
    "openstack:networking/secGroupRule:SecGroupRule": [
        "description",
        "direction",
        "ethertype",
        "portRangeMax",
        "portRangeMin",
        "protocol",
        "remoteGroupId",
        "remoteIpPrefix",
        "securityGroupId",
    ],
    "openstack:networking/subnet:Subnet": [
        "cidr",
        "dnsNameservers",
        "enableDhcp",
        "id",
        "ipVersion",
        "name",
        "networkId",
    ],
};

export type Kind = string; // "string", "number", "boolean", "object", "any", "array<K>", "map<K>"

export interface Member {
    inputs: Record<string, Kind>;
    outputs: Record<string, Kind>;
}

export interface Api {
    resources: Record<string, Member>;
    functions: Record<string, Member>;
}

const SDK = path.dirname(require.resolve("@pulumi/openstack/package.json"));

/** The kind of a TypeScript type as the SDK writes it (Input/Output wrappers removed). */
export function kindOfTs(text: string): Kind {
    let t = text.replace(/\s+/g, " ").trim();
    for (;;) {
        const m = /^pulumi\.(?:Input|Output)<(.*)>$/.exec(t);
        if (!m?.[1]) break;
        t = m[1].trim();
    }
    t = t.replace(/ \| undefined$/, "");
    if (t.endsWith("[]")) return `array<${kindOfTs(t.slice(0, -2))}>`;
    const map = /^\{ ?\[key: string\]: (.*?);? ?\}$/.exec(t);
    if (map?.[1]) return `map<${kindOfTs(map[1])}>`;
    if (t === "string" || t === "number" || t === "boolean" || t === "any") return t;
    if (/^(inputs|outputs)\./.test(t)) return "object";
    return `?${t}`;
}

interface SchemaType {
    type?: string;
    items?: SchemaType;
    additionalProperties?: SchemaType;
    $ref?: string;
}

/** The kind of a Pulumi schema type. */
export function kindOfSchema(t: SchemaType): Kind {
    if (t.$ref) return t.$ref.startsWith("pulumi.json#/Any") ? "any" : "object";
    switch (t.type) {
        case "integer":
        case "number":
            return "number";
        case "array":
            return `array<${kindOfSchema(t.items ?? {})}>`;
        case "object":
            return t.additionalProperties
                ? `map<${kindOfSchema(t.additionalProperties)}>`
                : "object";
        default:
            return t.type ?? "any";
    }
}

function props(node: ts.ClassDeclaration | ts.InterfaceDeclaration, sf: ts.SourceFile) {
    const out: Record<string, Kind> = {};
    for (const m of node.members) {
        if (!ts.isPropertyDeclaration(m) && !ts.isPropertySignature(m)) continue;
        if (!m.type || !m.name || !ts.isIdentifier(m.name)) continue;
        if (
            ts.isPropertyDeclaration(m) &&
            m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword)
        )
            continue;
        out[m.name.text] = kindOfTs(m.type.getText(sf));
    }
    return out;
}

/** Reads every resource and function of the SDK from its .d.ts and .js files. */
export function readSdk(root = SDK): Api {
    const api: Api = { resources: {}, functions: {} };
    const files: string[] = [];
    const walk = (dir: string): void => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, e.name);
            if (e.isDirectory() && e.name !== "types" && e.name !== "node_modules") walk(p);
            else if (e.name.endsWith(".d.ts")) files.push(p);
        }
    };
    walk(root);
    for (const file of files) {
        const js = fs.readFileSync(file.replace(/\.d\.ts$/, ".js"), "utf8");
        const sf = ts.createSourceFile(
            file,
            fs.readFileSync(file, "utf8"),
            ts.ScriptTarget.Latest,
            true,
        );
        const classes = sf.statements.filter(ts.isClassDeclaration);
        const ifaces = new Map(
            sf.statements.filter(ts.isInterfaceDeclaration).map((i) => [i.name.text, i] as const),
        );
        const resTok = /__pulumiType = '([^']+)'/.exec(js)?.[1];
        const cls = classes.find((c) =>
            c.heritageClauses?.some((h) => /CustomResource|ProviderResource/.test(h.getText(sf))),
        );
        if (resTok && cls?.name) {
            const name = cls.name.text;
            const args = ifaces.get(`${name}Args`);
            const outputs = props(cls, sf);
            delete outputs["__pulumiType"];
            api.resources[resTok] = { inputs: args ? props(args, sf) : {}, outputs };
        }
        for (const m of js.matchAll(/invoke\("(openstack:[^"]+)"/g)) {
            const tok = m[1] as string;
            const fn = tok.split(":")[2] as string;
            const up = fn.charAt(0).toUpperCase() + fn.slice(1);
            const a = ifaces.get(`${up}Args`);
            const r = ifaces.get(`${up}Result`);
            api.functions[tok] = { inputs: a ? props(a, sf) : {}, outputs: r ? props(r, sf) : {} };
        }
    }
    return api;
}

interface Schema {
    provider?: { inputProperties?: Record<string, SchemaType> };
    resources: Record<
        string,
        { inputProperties?: Record<string, SchemaType>; properties?: Record<string, SchemaType> }
    >;
    functions: Record<
        string,
        {
            inputs?: { properties?: Record<string, SchemaType> };
            outputs?: { properties?: Record<string, SchemaType> };
        }
    >;
}

export function readSchema(file: string): Api {
    const s = JSON.parse(fs.readFileSync(file, "utf8")) as Schema;
    const kinds = (p?: Record<string, SchemaType>) =>
        Object.fromEntries(Object.entries(p ?? {}).map(([k, v]) => [k, kindOfSchema(v)]));
    const api: Api = { resources: {}, functions: {} };
    for (const [tok, r] of Object.entries(s.resources))
        api.resources[tok] = {
            inputs: kinds(r.inputProperties),
            outputs: { ...kinds(r.properties), id: "string", urn: "string" },
        };
    // The provider resource: the SDK's Provider class has the package name as its token.
    api.resources["openstack"] = {
        inputs: kinds(s.provider?.inputProperties),
        outputs: { ...kinds(s.provider?.inputProperties), id: "string", urn: "string" },
    };
    for (const [tok, f] of Object.entries(s.functions))
        api.functions[tok] = {
            inputs: kinds(f.inputs?.properties),
            outputs: kinds(f.outputs?.properties),
        };
    return api;
}

/** Equal kinds, where the SDK's `any` (a Terraform map without an element type) takes any kind. */
export function sameKind(sdk: Kind, provider: Kind): boolean {
    if (sdk === provider || sdk === "any") return true;
    const a = /^(array|map)<(.*)>$/.exec(sdk);
    const b = /^(array|map)<(.*)>$/.exec(provider);
    return !!a && !!b && a[1] === b[1] && sameKind(a[2] ?? "", b[2] ?? "");
}

export interface Report {
    tokens: { sdk: number; matched: number; missing: string[]; extra: string[] };
    properties: { sdk: number; matched: number; differences: string[] };
    usedDifferences: string[];
}

/** Every SDK token and property against the provider's schema. */
export function compare(
    sdk: Api,
    provider: Api,
    used: Record<string, readonly string[]> = USED,
): Report {
    const report: Report = {
        tokens: { sdk: 0, matched: 0, missing: [], extra: [] },
        properties: { sdk: 0, matched: 0, differences: [] },
        usedDifferences: [],
    };
    for (const kind of ["resources", "functions"] as const) {
        for (const [tok, m] of Object.entries(sdk[kind])) {
            report.tokens.sdk++;
            const p = provider[kind][tok];
            if (!p) {
                report.tokens.missing.push(tok);
                if (used[tok]) report.usedDifferences.push(`${tok}: not in the provider`);
                continue;
            }
            report.tokens.matched++;
            for (const side of ["inputs", "outputs"] as const) {
                for (const [name, k] of Object.entries(m[side])) {
                    report.properties.sdk++;
                    const got = p[side][name];
                    if (got !== undefined && sameKind(k, got)) {
                        report.properties.matched++;
                        continue;
                    }
                    const d = `${tok} ${side}.${name}: SDK ${k}, provider ${got ?? "absent"}`;
                    report.properties.differences.push(d);
                    if (used[tok]?.includes(name)) report.usedDifferences.push(d);
                }
            }
        }
        for (const tok of Object.keys(provider[kind]))
            if (!sdk[kind][tok]) report.tokens.extra.push(tok);
    }
    return report;
}

if (require.main === module) {
    const file = process.argv[2];
    if (!file || file === "--help") {
        console.log(
            "usage: ts-node tools/engine/schema-check.ts <schema.json> (from `pulumi-resource-openstack schema`)",
        );
        process.exit(file ? 0 : 2);
    }
    const r = compare(readSdk(), readSchema(file));
    for (const t of r.tokens.missing) console.log(`missing in the provider: ${t}`);
    for (const t of r.tokens.extra) console.log(`only in the provider (not in the SDK): ${t}`);
    for (const d of r.properties.differences) console.log(`differs: ${d}`);
    const usedTokens = Object.keys(USED).length;
    const usedProps = Object.values(USED).reduce((n, p) => n + p.length, 0);
    console.log(
        `schema check: tokens ${r.tokens.matched}/${r.tokens.sdk} of the SDK matched ` +
            `(${r.tokens.missing.length} missing, ${r.tokens.extra.length} only in the provider); ` +
            `properties ${r.properties.matched}/${r.properties.sdk} matched; ` +
            `the program's ${usedTokens} tokens and ${usedProps} properties: ${r.usedDifferences.length} difference(s)`,
    );
    for (const d of r.usedDifferences) console.log(`USED DIFFERS: ${d}`);
    process.exit(r.usedDifferences.length === 0 ? 0 : 1);
}
