// Pure: the role table's invariants. Does not prove that the components honour it.
import { ROLES, ROLE_NAMES } from "../../components/roles";

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
        const sshFrom = ROLE_NAMES.map(
            (r) => `${r}:${ROLES[r].ports.find((p) => p.port === 22)?.from}`,
        );
        expect(sshFrom).toEqual([
            "web:admin",
            "xmldb:bastion",
            "iiif:bastion",
            "app:bastion",
            "sandbox:bastion",
        ]);
    });
});
