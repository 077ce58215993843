/**
 * Entry point of `pulumi up` / `preview` with the normal CLI: the whole program is program.ts,
 * which the Automation API runner (tools/engine/run.ts) runs as well.
 */
import { program } from "./program";

export = program();
