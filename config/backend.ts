/**
 * The Pulumi state backend's URL, checked before anything runs (loadStackConfig when
 * PULUMI_BACKEND_URL is set; tools/engine/run.ts with the URL the CLI is logged in to).
 * Arbutus's object storage (Ceph) serves buckets by path only, and Pulumi's S3 backend (gocloud,
 * AWS SDK v2) needs the endpoint as a full URL: the form docs/ci.md gives is
 *
 *   s3://<bucket>?endpoint=https://object-arbutus.alliancecan.ca&use_path_style=true&region=us-east-1
 *
 * file:// and Pulumi Cloud URLs pass unchecked.
 */

/** Legacy Arbutus's hosts (computecanada.ca): decommissioned with legacy Arbutus in 2026. */
export const LEGACY_ARBUTUS = /(^|\.)[a-z0-9-]*arbutus[a-z0-9.-]*\.computecanada\.ca$/i;

/** The backend URL operators should use on new Arbutus, with their bucket. */
export function arbutusBackendUrl(bucket: string): string {
    return `s3://${bucket}?endpoint=https://object-arbutus.alliancecan.ca&use_path_style=true&region=us-east-1`;
}

/** Pure: the problems of a backend URL, each with the fix (empty: fine). */
export function backendUrlProblems(url: string): string[] {
    if (!url.startsWith("s3://")) return [];
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        return [`the state backend "${url}" is not a URL: use ${arbutusBackendUrl("<bucket>")}`];
    }
    const bucket = u.hostname || "<bucket>";
    const fix = `use ${arbutusBackendUrl(bucket)} (docs/ci.md, step 1)`;
    const problems: string[] = [];
    const endpoint = u.searchParams.get("endpoint");
    if (endpoint === null) {
        problems.push(
            `the state backend ${url} names no endpoint: Pulumi would look for the bucket on AWS; ${fix}`,
        );
    } else {
        let host = "";
        try {
            const e = new URL(endpoint);
            if (!/^https?:$/.test(e.protocol)) throw new Error("scheme");
            host = e.hostname;
        } catch {
            host = endpoint.replace(/[:/].*$/, "");
            problems.push(
                `the state backend's endpoint "${endpoint}" has no scheme: Pulumi's S3 client (AWS SDK v2) needs https://${endpoint}; ${fix}`,
            );
        }
        if (LEGACY_ARBUTUS.test(host))
            problems.push(
                `the state backend's endpoint ${host} is legacy Arbutus, decommissioned in 2026: copy the state bucket to new Arbutus and ${fix}`,
            );
    }
    const pathStyle =
        u.searchParams.get("use_path_style") ?? u.searchParams.get("s3ForcePathStyle");
    if (pathStyle !== "true")
        problems.push(
            `the state backend ${url} does not ask for path-style addressing (use_path_style=true): Arbutus's object storage does not serve buckets as host names; ${fix}`,
        );
    if (!u.searchParams.get("region"))
        problems.push(
            `the state backend ${url} names no region: the S3 client needs one to sign (any, e.g. region=us-east-1); ${fix}`,
        );
    return problems;
}
