// The OpenStack properties the program sets, from the whole program under mocks with every stack
// file, against the table the engine's schema check holds the built provider to
// (tools/engine/schema-check.ts, USED). A new property or resource type in the program fails here
// until the table names it, so CI's schema check covers it. Also the comparison itself, on small
// made-up schemas. Does not prove the provider: that is the check on the built binary, in CI.
import {
    Api,
    USED,
    compare,
    kindOfSchema,
    kindOfTs,
    sameKind,
} from "../../tools/engine/schema-check";
import { resolved, runProgram } from "../harness/mocks";

describe.each(["dev", "prod", "local"])("stack %s", (stack) => {
    it("sets only properties that the schema check's table names", async () => {
        const { records } = await runProgram(stack);
        const unnamed: string[] = [];
        for (const r of records.filter((x) => x.type.startsWith("openstack:"))) {
            const used = USED[r.type];
            if (!used) {
                unnamed.push(r.type);
                continue;
            }
            for (const [key, value] of Object.entries(await resolved(r)))
                if (value !== undefined && !used.includes(key)) unnamed.push(`${r.type} ${key}`);
        }
        expect([...new Set(unnamed)]).toEqual([]);
    }, 60_000);
});

describe("the schema comparison", () => {
    const sdk: Api = {
        resources: {
            "openstack:compute/instance:Instance": {
                inputs: { name: "string", networks: "array<object>", metadata: "map<any>" },
                outputs: { name: "string" },
            },
            "openstack:old/thing:Thing": { inputs: {}, outputs: {} },
        },
        functions: {},
    };
    it("matches same kinds, and takes the SDK's any as a wildcard", () => {
        const provider: Api = {
            resources: {
                "openstack:compute/instance:Instance": {
                    inputs: { name: "string", networks: "array<object>", metadata: "map<string>" },
                    outputs: { name: "string", id: "string" },
                },
            },
            functions: {},
        };
        const r = compare(sdk, provider, { "openstack:compute/instance:Instance": ["name"] });
        expect(r.tokens).toEqual({
            sdk: 2,
            matched: 1,
            missing: ["openstack:old/thing:Thing"],
            extra: [],
        });
        expect(r.properties).toEqual({ sdk: 4, matched: 4, differences: [] });
        expect(r.usedDifferences).toEqual([]);
    });
    it("fails on a used property whose kind differs or that is absent, and only reports the others", () => {
        const provider: Api = {
            resources: {
                "openstack:compute/instance:Instance": {
                    inputs: { name: "number", metadata: "map<string>" },
                    outputs: { name: "string" },
                },
            },
            functions: {},
        };
        const r = compare(sdk, provider, { "openstack:compute/instance:Instance": ["name"] });
        expect(r.usedDifferences).toEqual([
            "openstack:compute/instance:Instance inputs.name: SDK string, provider number",
        ]);
        expect(r.properties.differences).toContain(
            "openstack:compute/instance:Instance inputs.networks: SDK array<object>, provider absent",
        );
    });
    it("reads TypeScript and schema types to the same kinds", () => {
        expect(kindOfTs("pulumi.Input<pulumi.Input<string>[]>")).toBe("array<string>");
        expect(kindOfTs("pulumi.Output<outputs.compute.InstanceNetwork[] | undefined>")).toBe(
            "array<object>",
        );
        expect(kindOfTs("pulumi.Input<{[key: string]: pulumi.Input<string>}>")).toBe("map<string>");
        expect(kindOfSchema({ type: "array", items: { $ref: "#/types/x" } })).toBe("array<object>");
        expect(kindOfSchema({ type: "object", additionalProperties: { type: "integer" } })).toBe(
            "map<number>",
        );
        expect(sameKind("map<any>", "map<string>")).toBe(true);
        expect(sameKind("array<string>", "map<string>")).toBe(false);
    });
});
