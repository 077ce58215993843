// The IIIF server's Presentation 2.1 manifests (cloud-init/files/iiif/iiif-manifests.py), run by
// Python with Pillow on a folder of real images, then read by iiif-prezi, a IIIF library from
// PyPI (tests/harness/iiif/validate.py), and checked for what eScriptorium's importer uses. The
// web server publishes them with CORS. Does not prove that the image server serves the canvases'
// images or that the timer runs on a VM (tests/vm/roles.test.ts fetches a manifest and every
// canvas's image through the web server), nor eScriptorium itself.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildCloudConfig } from "../../components/userData";
import { exampleInput } from "../harness/render-user-data";

const ROOT = path.resolve(__dirname, "../..");
const GENERATOR = path.join(ROOT, "cloud-init/files/iiif/iiif-manifests.py");
const BASE = "https://ouvroir.example.org";
let py = "";
let tmp = "";
let images = "";
let manifests = "";

function generate(...args: string[]): { status: number; stdout: string; stderr: string } {
    const r = spawnSync(py, [GENERATOR, "--images", images, "--manifests", manifests, ...args], {
        encoding: "utf8",
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function image(rel: string, width: number, height: number): void {
    fs.mkdirSync(path.dirname(path.join(images, rel)), { recursive: true });
    execFileSync(py, [
        "-c",
        "import sys; from PIL import Image; Image.new('RGB', (int(sys.argv[2]), int(sys.argv[3])), 'white').save(sys.argv[1])",
        path.join(images, rel),
        String(width),
        String(height),
    ]);
}

const read = (rel: string): Record<string, unknown> =>
    JSON.parse(fs.readFileSync(path.join(manifests, rel), "utf8")) as Record<string, unknown>;

beforeAll(() => {
    py = execFileSync("bash", [path.join(ROOT, "tests/harness/python-tools.sh")], {
        encoding: "utf8",
    }).trim();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ouvroir-iiif-"));
    images = path.join(tmp, "images");
    manifests = path.join(tmp, "manifests");
    // A register: pages out of creation order, several formats; and what is not a page.
    image("registre 1754/f002.tif", 1200, 1800);
    image("registre 1754/f001.jpg", 1100, 1700);
    image("registre 1754/f010.png", 900, 1300);
    fs.writeFileSync(path.join(images, "registre 1754", "notes.txt"), "not an image");
    fs.writeFileSync(path.join(images, "registre 1754", "broken.jpg"), "not a JPEG");
    image("registre 1754/.hidden.jpg", 10, 10);
    image("carnet~2/p1.jpg", 10, 10);
    fs.mkdirSync(path.join(images, "empty"));
    image("loose.jpg", 50, 50);
}, 600_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("the manifests of the documents on the IIIF volume", () => {
    let first: ReturnType<typeof generate>;
    beforeAll(() => {
        first = generate("--host", "ouvroir.example.org");
    });

    it("one per folder of images, and a collection of them; what cannot be served is named", () => {
        expect(first.status).toBe(0);
        expect(first.stdout).toBe("ouvroir-iiif-manifests: 1 document(s), 3 page(s)\n");
        expect(first.stderr).toContain(
            `skipped ${path.join(images, "registre 1754", "broken.jpg")}`,
        );
        expect(first.stderr).toContain(
            `skipped ${path.join(images, "carnet~2")}: a document's folder name may not hold '~'`,
        );
        expect(fs.readdirSync(manifests).sort()).toEqual(["collection.json", "registre 1754"]);
        expect(read("collection.json")).toEqual({
            "@context": "http://iiif.io/api/presentation/2/context.json",
            "@id": `${BASE}/iiif/manifests/collection.json`,
            "@type": "sc:Collection",
            label: "Documents on ouvroir.example.org",
            description:
                "Every document (a folder of images) on the IIIF volume, one manifest each",
            manifests: [
                {
                    "@id": `${BASE}/iiif/manifests/registre%201754/manifest.json`,
                    "@type": "sc:Manifest",
                    label: "registre 1754",
                },
            ],
        });
    });

    it("pages in name order, each canvas sized from its image and served by the Image API 2 through the public host", () => {
        const m = read("registre 1754/manifest.json") as {
            sequences: { canvases: Record<string, unknown>[] }[];
        };
        const doc = `${BASE}/iiif/manifests/registre%201754`;
        const canvases = m.sequences[0]?.canvases ?? [];
        expect(canvases.map((c) => [c.label, c.width, c.height])).toEqual([
            ["f001", 1100, 1700],
            ["f002", 1200, 1800],
            ["f010", 900, 1300],
        ]);
        expect(canvases[1]).toEqual({
            "@id": `${doc}/canvas/p2`,
            "@type": "sc:Canvas",
            label: "f002",
            width: 1200,
            height: 1800,
            images: [
                {
                    "@id": `${doc}/annotation/p2`,
                    "@type": "oa:Annotation",
                    motivation: "sc:painting",
                    on: `${doc}/canvas/p2`,
                    resource: {
                        "@id": `${BASE}/iiif/2/registre%201754~f002.tif/full/full/0/default.jpg`,
                        "@type": "dctypes:Image",
                        format: "image/jpeg",
                        width: 1200,
                        height: 1800,
                        service: {
                            "@context": "http://iiif.io/api/image/2/context.json",
                            "@id": `${BASE}/iiif/2/registre%201754~f002.tif`,
                            profile: "http://iiif.io/api/image/2/level2.json",
                        },
                    },
                },
            ],
        });
    });

    it("are read without error or warning by iiif-prezi, and give eScriptorium what it fetches", () => {
        const files = [
            path.join(manifests, "registre 1754", "manifest.json"),
            path.join(manifests, "collection.json"),
        ];
        const out = execFileSync(
            py,
            [path.join(ROOT, "tests/harness/iiif/validate.py"), ...files],
            {
                encoding: "utf8",
            },
        );
        expect(
            out
                .trim()
                .split("\n")
                .map((l) => JSON.parse(l) as unknown),
        ).toEqual([
            { file: files[0], type: "sc:Manifest", canvases: 3, warnings: [] },
            { file: files[1], type: "sc:Collection", canvases: 0, warnings: [] },
        ]);
    });

    it("the validator refuses a broken manifest (it can fail)", () => {
        const m = read("registre 1754/manifest.json") as {
            sequences: { canvases: { images: Record<string, unknown>[] }[] }[];
        };
        delete m.sequences[0]?.canvases[0]?.images[0]?.on;
        const bad = path.join(tmp, "bad.json");
        fs.writeFileSync(bad, JSON.stringify(m));
        const r = spawnSync(py, [path.join(ROOT, "tests/harness/iiif/validate.py"), bad], {
            encoding: "utf8",
        });
        expect([r.status, r.stderr]).toEqual([
            1,
            expect.stringContaining("oa:Annotation['on'] not present and required"),
        ]);
    });

    it("are rewritten only when images change, and a folder removed loses its manifest", () => {
        const collection = path.join(manifests, "collection.json");
        // Nothing newer than the collection: the timer's run writes nothing.
        const old = new Date(Date.now() - 60_000);
        const age = (dir: string): void => {
            for (const e of fs.readdirSync(dir, { withFileTypes: true }))
                if (e.isDirectory()) age(path.join(dir, e.name));
                else fs.utimesSync(path.join(dir, e.name), old, old);
            fs.utimesSync(dir, old, old);
        };
        age(images);
        const written = fs.statSync(collection).mtimeMs;
        expect(generate("--host", "ouvroir.example.org").stdout).toBe("");
        expect(fs.statSync(collection).mtimeMs).toBe(written);

        image("lettres/l1.jpg", 640, 480);
        expect(generate("--host", "ouvroir.example.org").stdout).toBe(
            "ouvroir-iiif-manifests: 2 document(s), 4 page(s)\n",
        );
        expect(fs.existsSync(path.join(manifests, "lettres", "manifest.json"))).toBe(true);

        fs.rmSync(path.join(images, "lettres"), { recursive: true });
        expect(generate("--host", "ouvroir.example.org").stdout).toBe(
            "ouvroir-iiif-manifests: 1 document(s), 3 page(s)\n",
        );
        expect(fs.existsSync(path.join(manifests, "lettres"))).toBe(false);
    });

    it("take the public host name from the VM's settings, and refuse to run without one", () => {
        const settings = path.join(tmp, "settings.env");
        fs.writeFileSync(settings, "OUVROIR_ROLE='iiif'\nPUBLIC_HOSTNAME='labo.example.org'\n");
        expect(generate("--force", "--settings", settings).status).toBe(0);
        expect(read("collection.json")["@id"]).toBe(
            "https://labo.example.org/iiif/manifests/collection.json",
        );
        fs.writeFileSync(settings, "PUBLIC_HOSTNAME=''\n");
        const r = generate("--force", "--settings", settings);
        expect([r.status, r.stderr]).toEqual([1, expect.stringContaining("no public host name")]);
    });
});

describe("serving them", () => {
    it("the image server reads `~` as the folder's slash, as the manifests write it", () => {
        const props = fs.readFileSync(
            path.join(ROOT, "cloud-init/files/iiif/cantaloupe.properties"),
            "utf8",
        );
        expect(props).toMatch(/^slash_substitute = ~$/m);
        expect(fs.readFileSync(GENERATOR, "utf8")).toMatch(/^SLASH = "~"$/m);
        // The test stand-in (Debian's IIPImage) maps it too.
        expect(
            fs.readFileSync(path.join(ROOT, "cloud-init/files/iiif/lighttpd.conf"), "utf8"),
        ).toContain(
            '"^/iiif/[23]/([^/~]+)~([^/]+)/(.+)$" => "/fcgi-bin/iipsrv.fcgi?IIIF=$1/$2/$3"',
        );
    });

    it("the web server publishes them at /iiif/manifests/ from the IIIF VM's port 8183, GET only, with CORS for every origin", () => {
        const input = exampleInput("web");
        const vhost = (
            buildCloudConfig(input)["write_files"] as { path: string; content?: string }[]
        ).find((f) => f.path === "/etc/nginx/sites-available/00-default.conf")?.content;
        const block = vhost?.slice(vhost.indexOf("location /iiif/manifests/"));
        expect(block?.slice(0, block.indexOf("\n    }") + 6)).toBe(
            [
                "location /iiif/manifests/ {",
                "        include snippets/ouvroir-proxy-headers.conf;",
                "        include snippets/ouvroir-security-headers.conf;",
                '        add_header Access-Control-Allow-Origin "*" always;',
                "        limit_except GET {",
                "            deny all;",
                "        }",
                `        proxy_pass http://${input.upstreams.iiif}:8183/;`,
                "    }",
            ].join("\n"),
        );
    });
});
