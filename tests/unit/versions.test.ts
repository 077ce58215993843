// Does not prove that the downloads exist at their URLs or match their checksums (only the cloud
// reaches them: README "What only the cloud can prove"): only that the README states the defaults
// config/keys.ts carries.
import * as fs from "fs";
import * as path from "path";
import { DEFAULTS } from "../../config/keys";

const README = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");

function rows(): Record<string, string> {
    const table = /<!-- versions:start[^>]*-->\n([\s\S]*?)<!-- versions:end -->/.exec(README);
    return Object.fromEntries(
        (table?.[1] ?? "")
            .split("\n")
            .filter((l) => l.startsWith("| ") && !l.startsWith("| component"))
            .map((l) => l.split("|").map((c) => c.trim()))
            .map(([, name = "", version = ""]) => [name, version]),
    );
}

describe("the README's versions table", () => {
    it.each(Object.entries(DEFAULTS.downloads))("states %s's default version", (name, d) => {
        expect(rows()[name]).toMatch(new RegExp(`^${d.version.replace(/\./g, "\\.")}\\b`));
    });

    it("the pinned defaults are the issue's: Cantaloupe 5.0.7, BaseX 12.x, Julia 1.12.x", () => {
        expect(DEFAULTS.downloads.cantaloupe.version).toBe("5.0.7");
        expect(DEFAULTS.downloads.basex.version).toMatch(/^12\.\d+$/);
        expect(DEFAULTS.downloads.julia.version).toMatch(/^1\.12\.\d+$/);
        // Each default URL names its version: a bumped version with a stale URL fails here.
        for (const d of Object.values(DEFAULTS.downloads))
            expect(d.url.replace(/\./g, "")).toContain(d.version.replace(/\./g, ""));
    });

    it("restic has no default download: Debian's package unless downloads.restic is set", () => {
        expect(Object.keys(DEFAULTS.downloads)).not.toContain("restic");
        expect(rows()["restic"]).toMatch(/^Debian's package/);
    });

    it("the program's Node.js major is the one CI fetches and the workflows set", () => {
        const pkg = JSON.parse(
            fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"),
        ) as { engines: { node: string } };
        const script = fs.readFileSync(path.join(__dirname, "..", "harness", "node.sh"), "utf8");
        const pinned = /^version=(\d+)\./m.exec(script)?.[1];
        expect(pkg.engines.node).toBe(`>=${pinned}`);
        const dir = path.join(__dirname, "..", "..", ".github", "workflows");
        for (const f of fs.readdirSync(dir)) {
            const text = fs.readFileSync(path.join(dir, f), "utf8");
            for (const m of text.matchAll(/node-version: "(\d+)"/g))
                expect([f, m[1]]).toEqual([f, pinned]);
            for (const m of text.matchAll(/pulumi\/actions@(v\d+)/g))
                expect([f, m[1]]).toEqual([f, "v7"]);
        }
    });
});
