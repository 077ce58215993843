/** Test helper: the stack files as raw config, and the problems parse reports for a config. */
import * as path from "path";
import { ConfigError, parseStackConfig, RawConfig, readStackFile } from "../../config";

const root = path.resolve(__dirname, "../..");

/** The dev stack file as written. */
export const devRaw = (): RawConfig => readStackFile(root, "dev");

/** The prod stack file, with the secrets an operator sets (present, values unknown here). */
export const prodRaw = (): RawConfig => ({
    ...readStackFile(root, "prod"),
    backupAccessKeyId: "(secret)",
    backupSecretAccessKey: "(secret)",
    alertSmtpPassword: "(secret)",
});

/** The problems parsing `raw` as `stack` reports; none when it parses. */
export function problemsOf(stack: string, raw: RawConfig): string[] {
    try {
        parseStackConfig(stack, raw);
        return [];
    } catch (e) {
        if (e instanceof ConfigError) return [...e.problems];
        throw e;
    }
}
