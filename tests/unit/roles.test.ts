// Pure: the role table's invariants. Does not prove that the components honour it.
import * as fs from "fs";
import * as path from "path";
import { ROLES, ROLE_NAMES, clientRoles, sourceRoles } from "../../components/roles";

describe("role table", () => {
    it("has exactly one public role, the web server", () => {
        expect(ROLE_NAMES.filter((r) => ROLES[r].public)).toEqual(["web"]);
    });
    it("opens no port to the world except 80 and 443 on the web server", () => {
        const world = ROLE_NAMES.flatMap((r) =>
            ROLES[r].ports.filter((p) => p.from === "world").map((p) => `${r}:${p.port}`),
        );
        expect(world).toEqual(["web:80", "web:443"]);
    });
    it("lets SSH in from the admin CIDRs on the bastion only, from the bastion elsewhere", () => {
        const sshFrom = ROLE_NAMES.map((r) => {
            const p = ROLES[r].ports.find((q) => q.port === 22);
            return `${r}:${p === undefined ? "none" : typeof p.from === "string" ? p.from : sourceRoles(p).join("+")}`;
        });
        expect(sshFrom).toEqual(["web:admin", "xmldb:web", "iiif:web", "app:web", "sandbox:web"]);
    });
    it("opens nothing to the whole private subnet, and no database port to the sandbox", () => {
        const sources = ROLE_NAMES.flatMap((r) =>
            ROLES[r].ports.map(
                (p) =>
                    `${r}:${p.name}:${typeof p.from === "string" ? p.from : sourceRoles(p).join("+")}`,
            ),
        );
        expect(sources).toEqual([
            "web:http:world",
            "web:https:world",
            "web:ssh:admin",
            "web:ssh-researchers:researchers",
            "xmldb:ssh:web",
            "xmldb:basex-http:web",
            "xmldb:basex-server:app",
            "xmldb:node-exporter:web",
            "iiif:ssh:web",
            "iiif:cantaloupe:web",
            "iiif:manifests:web",
            "iiif:node-exporter:web",
            "app:ssh:web",
            "app:apps:web",
            "app:sql:web",
            "app:node-exporter:web",
            "sandbox:ssh:web",
            "sandbox:sandbox-web:web",
            "sandbox:node-exporter:web",
        ]);
        expect(ROLE_NAMES.flatMap((r) => ROLES[r].ports.flatMap(sourceRoles))).not.toContain(
            "sandbox",
        );
    });
    it("gives a member group to the roles others accept, only when both are deployed", () => {
        expect(clientRoles([...ROLE_NAMES])).toEqual(["app"]);
        expect(clientRoles(["web", "app", "sandbox"])).toEqual([]);
        expect(clientRoles(["web", "xmldb"])).toEqual([]);
    });
});

describe("one role, one place", () => {
    const root = path.join(__dirname, "..", "..");
    it("each role's spec is its own file in components/roles/, listed once in the registry", () => {
        const files = fs
            .readdirSync(path.join(root, "components", "roles"))
            .filter((f) => !["index.ts", "registry.ts", "types.ts"].includes(f));
        expect(files.sort()).toEqual(ROLE_NAMES.map((r) => `${r}.ts`).sort());
        for (const role of ROLE_NAMES) expect(ROLES[role].name).toBe(role);
    });
    it("no mechanic names a role: the program and components/ outside roles/ read specs only", () => {
        const names = ROLE_NAMES.map((r) => `"${r}"`);
        const mechanics = [
            "program.ts",
            ...fs
                .readdirSync(path.join(root, "components"))
                .filter((f) => f.endsWith(".ts") && f !== "roleComponents.ts")
                .map((f) => `components/${f}`),
        ];
        const found = mechanics.flatMap((file) => {
            const text = fs.readFileSync(path.join(root, file), "utf8");
            return names.filter((n) => text.includes(n)).map((n) => `${file}: ${n}`);
        });
        expect(found).toEqual([]);
    });
});
