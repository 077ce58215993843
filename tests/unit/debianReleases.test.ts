// Does not prove that the packages install or work together on either release (the VM layer boots
// Debian 13 guests, and Debian 12 ones with OUVROIR_VM_DEBIAN=12), nor that the cloud's images are
// current: only that every name the program installs exists in both releases, at the versions the
// README states.
import * as fs from "fs";
import * as path from "path";
import { DEFAULTS } from "../../config/keys";
import {
    FIXTURE,
    PackageFixture,
    RELEASE_ONLY,
    RELEASES,
    wantedPackages,
} from "../harness/debianPackages";

const fixture = JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as PackageFixture;
const README = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");

/**
 * "2:8.4+96" → "8.4+96"; "1:11.8.9+ds-0+deb13u1" → "11.8.9+ds-0+deb13u1"; Debian numbers
 * default-jre-headless "2:1.21-76" after Java 21: "21-76".
 */
const upstream = (v: string): string => v.replace(/^\d+:/, "").replace(/^1\.(\d\d)-/, "$1-");

describe("Debian releases", () => {
    it("the fixture lists exactly the packages the templates and scripts install (npm run debian:packages)", () => {
        for (const r of Object.keys(RELEASES) as (keyof typeof RELEASES)[])
            expect(Object.keys(fixture.releases[r].packages).sort()).toEqual(wantedPackages());
    });

    it.each(Object.entries(RELEASES))("every package exists in Debian %s (%s)", (release) => {
        const packages = fixture.releases[release as keyof typeof RELEASES].packages;
        const elsewhere = (name: string): boolean =>
            RELEASE_ONLY[name] !== undefined && RELEASE_ONLY[name] !== release;
        expect(Object.entries(packages).filter(([n, v]) => v === null && !elsewhere(n))).toEqual(
            [],
        );
        // A package said to be one release's only is indeed absent from the other.
        for (const [name, only] of Object.entries(RELEASE_ONLY))
            expect([name, packages[name] === null]).toEqual([name, only !== release]);
    });

    it("no template names a version-bound package (php8.2-fpm, openjdk-17-…, postgresql-15)", () => {
        const bound = /\d+\.\d+|-\d+(-|$)/;
        expect(
            ["php8.2-fpm", "openjdk-17-jre-headless", "postgresql-15"].every((p) => bound.test(p)),
        ).toBe(true);
        expect(wantedPackages().filter((p) => bound.test(p))).toEqual([]);
    });

    it("the default image is Debian 13's, and Debian 12's pattern does not take it", () => {
        const re = new RegExp(DEFAULTS.image.namePattern);
        expect(re.test("Debian-13-Trixie-x64-2026-11")).toBe(true);
        expect(re.test("Debian-12-Bookworm-x64-2026-11")).toBe(false);
        expect(new RegExp("^Debian-12.*x64").test("Debian-13-Trixie-x64-2026-11")).toBe(false);
    });

    it("the README's table gives each release's versions from the fixture", () => {
        const table =
            /<!-- debian-releases:start[^>]*-->\n([\s\S]*?)<!-- debian-releases:end -->/.exec(
                README,
            );
        expect(table).not.toBeNull();
        const rows = (table?.[1] ?? "")
            .split("\n")
            .filter((l) => l.startsWith("| ") && !l.startsWith("| package"))
            .map((l) => l.split("|").map((c) => c.trim()))
            .map(([, name = "", v13 = "", v12 = ""]) => ({ name, v13, v12 }));
        expect(rows.length).toBeGreaterThanOrEqual(8);
        for (const row of rows) {
            for (const release of ["13", "12"] as const) {
                const stated = row[`v${release}`];
                const packaged = upstream(
                    fixture.releases[release].packages[row.name] ?? "missing",
                );
                expect({ name: row.name, release, packaged }).toEqual({
                    name: row.name,
                    release,
                    packaged: expect.stringMatching(
                        new RegExp(`^${stated.replace(/\./g, "\\.")}[.+~-]`),
                    ),
                });
            }
        }
    });
});
