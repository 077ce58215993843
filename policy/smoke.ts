/**
 * Loads the policy pack the way the Pulumi CLI does (run-policy-pack with ts-node type-checking,
 * working directory `policy/`), then asks it over gRPC to analyze one compliant and one
 * non-compliant resource. Proves the pack compiles, starts and reports; run by
 * `policy/check-loads.sh`. Needs no Pulumi CLI and no cloud.
 */
import { spawn } from "child_process";
import * as path from "path";

import * as grpc from "@grpc/grpc-js";
import * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";

const packDir = __dirname;
const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });

function startPack(): Promise<{ port: number; stop: () => void }> {
    // The engine address is only used for logging; nothing listens there in this check.
    const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: packDir });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            child.kill();
            reject(new Error(`policy pack did not start in 90 s:\n${stderr}`));
        }, 90_000);
        child.stdout.once("data", (d: Buffer) => {
            clearTimeout(timer);
            resolve({ port: Number(d.toString().trim()), stop: () => child.kill() });
        });
        child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`policy pack exited with ${code}:\n${stderr}`));
        });
    });
}

function analyze(
    client: analyzerGrpc.AnalyzerClient,
    type: string,
    name: string,
    props: Record<string, unknown>,
): Promise<string[]> {
    const req = new analyzerPb.AnalyzeRequest();
    req.setType(type);
    req.setName(name);
    req.setUrn(`urn:pulumi:prod::ouvroir-infra::${type}::${name}`);
    req.setProperties(Struct.fromJavaScript(props as Record<string, never>));
    const options = new analyzerPb.AnalyzerResourceOptions();
    options.setProtect(false);
    req.setOptions(options);
    return new Promise((resolve, reject) =>
        client.analyze(req, (err, res) =>
            err
                ? reject(err)
                : resolve(
                      res
                          .getDiagnosticsList()
                          .map((d) => `${d.getPolicyname()}: ${d.getMessage()}`),
                  ),
        ),
    );
}

async function main(): Promise<void> {
    const pack = await startPack();
    const client = new analyzerGrpc.AnalyzerClient(
        `127.0.0.1:${pack.port}`,
        grpc.credentials.createInsecure(),
    );
    const failures: string[] = [];
    try {
        const rule = "openstack:networking/secGroupRule:SecGroupRule";
        const ssh = await analyze(client, rule, "prod-web-ssh", {
            direction: "ingress",
            ethertype: "IPv4",
            protocol: "tcp",
            portRangeMin: 22,
            portRangeMax: 22,
            remoteIpPrefix: "0.0.0.0/0",
        });
        const https = await analyze(client, rule, "prod-web-https", {
            direction: "ingress",
            ethertype: "IPv4",
            protocol: "tcp",
            portRangeMin: 443,
            portRangeMax: 443,
            remoteIpPrefix: "0.0.0.0/0",
        });
        const volume = await analyze(
            client,
            "openstack:blockstorage/volume:Volume",
            "prod-xmldb-data",
            {
                name: "prod-xmldb-data",
                size: 50,
            },
        );
        console.log(`SSH to the world   -> ${JSON.stringify(ssh)}`);
        console.log(`HTTPS on web       -> ${JSON.stringify(https)}`);
        console.log(`unprotected volume -> ${JSON.stringify(volume)}`);
        if (!(ssh.length === 1 && ssh[0]?.startsWith("no-public-admin-ports"))) {
            failures.push("the SSH rule was not reported");
        }
        if (https.length !== 0) {
            failures.push("the HTTPS rule was reported");
        }
        if (!(volume.length === 1 && volume[0]?.startsWith("prod-data-volumes-protected"))) {
            failures.push("the unprotected prod volume was not reported");
        }
    } finally {
        client.close();
        pack.stop();
    }
    if (failures.length > 0) {
        throw new Error(failures.join("; "));
    }
    console.log(`policy pack ${path.basename(packDir)}/ loads and reports: OK`);
}

main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
});
