/**
 * `npm run bench:engine`: the program through the real engine (tools/engine/run.ts's stack)
 * against the local OpenStack. Times preview, up, no-op up, refresh and destroy of the `local`
 * stack (median of RUNS cycles, and per resource), then how a preview of the deployed stack grows
 * with its size: 1x, 2x and 4x the resources (more admin CIDRs: one security-group rule each) and
 * the sites. Prints one table in Markdown. Needs root (the local OpenStack) and the engine.
 *
 *   npm run bench:engine [-- --runs 3]
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { Stack } from "@pulumi/pulumi/automation";
import { engineStack, stepCollector } from "../../tools/engine/run";
import { STACK, cleanCloud, prepareLocalStack } from "./localStack";

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)] ?? NaN;
}

async function seconds(f: () => Promise<unknown>): Promise<number> {
    const t0 = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main(): Promise<void> {
    const argv = process.argv.slice(2);
    if (argv.includes("--help")) {
        console.log(
            "usage: npm run bench:engine [-- --runs N]   (N cycles of up/destroy, default 3)",
        );
        return;
    }
    const runsAt = argv.indexOf("--runs");
    const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 3;
    if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs needs a whole number >= 1");
    const { work, bin } = prepareLocalStack("ouvroir-bench-engine-");
    const quiet = { onOutput: () => undefined };
    let stack: Stack | undefined;
    try {
        stack = await engineStack(STACK, work, bin);
        const s = stack;
        const t: Record<string, number[]> = {
            preview: [],
            up: [],
            noop: [],
            refresh: [],
            destroy: [],
        };
        let resources = 0;
        for (let i = 0; i < runs; i++) {
            const c = stepCollector();
            t.preview?.push(await seconds(() => s.preview({ onEvent: c.onEvent })));
            resources = c.steps.filter(
                (x) =>
                    x.op === "create" &&
                    (x.type.startsWith("openstack:") || x.type.startsWith("ouvroir:")),
            ).length;
            t.up?.push(await seconds(() => s.up(quiet)));
            t.noop?.push(await seconds(() => s.up({ ...quiet, expectNoChanges: true })));
            t.refresh?.push(await seconds(() => s.refresh({ ...quiet, expectNoChanges: true })));
            if (i < runs - 1) t.destroy?.push(await seconds(() => s.destroy(quiet)));
        }
        // Preview growth, on the deployed stack: k admin CIDRs (one rule each) and k sites.
        const file = path.join(work, `Pulumi.${STACK}.yaml`);
        const original = fs.readFileSync(file, "utf8");
        const growth: { factor: number; resources: number; seconds: number }[] = [];
        for (const factor of [1, 2, 4]) {
            const extra = resources * (factor - 1);
            const doc = YAML.parseDocument(original);
            const cidrs = Array.from(
                { length: 1 + extra },
                (_, j) => `198.51.${100 + Math.floor(j / 250)}.${j % 250}/32`,
            );
            doc.setIn(["config", "ouvroir:adminCidrs"], cidrs);
            const sites = Array.from({ length: 2 * factor }, (_, j) => ({
                name: `site${j}`,
                domains: [`site${j}.local.ouvroir.test`],
                kind: "static",
            }));
            doc.setIn(["config", "ouvroir:sites"], sites);
            fs.writeFileSync(file, doc.toString());
            const xs: number[] = [];
            let planned = 0;
            for (let i = 0; i < runs; i++) {
                const c = stepCollector();
                xs.push(await seconds(() => s.preview({ onEvent: c.onEvent })));
                planned = c.steps.filter(
                    (x) => x.type.startsWith("openstack:") || x.type.startsWith("ouvroir:"),
                ).length;
            }
            growth.push({ factor, resources: planned, seconds: median(xs) });
        }
        fs.writeFileSync(file, original);
        t.destroy?.push(await seconds(() => s.destroy(quiet)));

        const row = (what: string, xs: number[]): string =>
            `| ${what} | ${median(xs).toFixed(1)} | ${((median(xs) / resources) * 1000).toFixed(0)} |`;
        console.log(
            `\nengine bench, ${new Date().toISOString().slice(0, 16)}Z, ${runs} run(s), medians; ${resources} resources\n`,
        );
        console.log("| operation | seconds | ms per resource |\n|---|---|---|");
        console.log(row("preview (empty stack)", t.preview ?? []));
        console.log(row("up (create all)", t.up ?? []));
        console.log(row("up (no change)", t.noop ?? []));
        console.log(row("refresh (no drift)", t.refresh ?? []));
        console.log(row("destroy", t.destroy ?? []));
        const base = growth[0]?.seconds ?? NaN;
        console.log("\n| size | resources in the preview | preview s | vs 1x |\n|---|---|---|---|");
        for (const g of growth)
            console.log(
                `| ${g.factor}x | ${g.resources} | ${g.seconds.toFixed(1)} | ${(g.seconds / base).toFixed(2)}x |`,
            );
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
        cleanCloud();
    }
}

main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
});
