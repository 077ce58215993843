// Pure: every README section and docs/ file that an error message, a warning or a tool's help
// cites exists. Does not prove the cited text is right: a reader does.
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
const SOURCES = ["config", "program.ts", "components", "tools", "tests/harness", "policy"];

function sourceFiles(): string[] {
    return SOURCES.flatMap((s) => {
        const p = path.join(ROOT, s);
        if (fs.statSync(p).isFile()) return [p];
        return fs
            .readdirSync(p, { recursive: true, encoding: "utf8" })
            .filter((f) => /\.(ts|sh|py)$/.test(f) && !f.includes("node_modules"))
            .map((f) => path.join(p, f));
    });
}

const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const headings = new Set(
    README.split("\n")
        .filter((l) => /^#{2,4} /.test(l))
        .map((l) => l.replace(/^#+ /, "").trim()),
);

describe("what messages cite", () => {
    const files = sourceFiles();
    it("reads the product's and tools' sources", () => {
        expect(files.length).toBeGreaterThan(30);
    });
    it('README sections cited as ("…" in the README) exist', () => {
        const cited = files.flatMap((f) =>
            [...fs.readFileSync(f, "utf8").matchAll(/"([A-Z][^"]{2,60})" in the README/g)].map(
                (m) => m[1] as string,
            ),
        );
        expect(cited).toContain("Retire a role");
        expect(cited.filter((c) => !headings.has(c))).toEqual([]);
    });
    it("docs/ and tools/ files cited exist", () => {
        const cited = new Set(
            files.flatMap((f) =>
                [
                    ...fs
                        .readFileSync(f, "utf8")
                        .matchAll(/\b((?:docs|tools\/engine)\/[A-Za-z0-9_.-]+\.md)\b/g),
                ].map((m) => m[1] as string),
            ),
        );
        expect(cited.size).toBeGreaterThan(2);
        expect([...cited].filter((c) => !fs.existsSync(path.join(ROOT, c)))).toEqual([]);
    });
});
