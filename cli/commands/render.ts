import type { Command } from "commander";
import { existsSync } from "node:fs";
import { compileManifests, formatSourceError } from "../standalone.js";
import { CliError } from "../errors.js";

export function registerRenderCommand(program: Command): void {
  program
    .command("render")
    .description(
      "Compile ModelProvider/ModelRoute/ModelClientKey YAML (files or directories) into the router config and print it as JSON",
    )
    .requiredOption("-f, --filename <paths...>", "files or directories of multi-document YAML (CRs and Secrets)")
    .option("-n, --namespace <ns>", "namespace for objects that have none", "default")
    .option(
      "--salt <hex>",
      "client-key salt (32 to 128 lowercase hex digits) for reproducible key hashes; default: a random one per run",
    )
    .action((opts: { filename: string[]; namespace: string; salt?: string }) => {
      for (const f of opts.filename) if (!existsSync(f)) throw new CliError(`${f}: no such file or directory`);
      if (opts.salt !== undefined && !/^[0-9a-f]{32,128}$/.test(opts.salt))
        throw new CliError("--salt must be 32 to 128 lowercase hex digits");
      const result = compileManifests(
        opts.filename,
        opts.namespace,
        opts.salt === undefined ? {} : { salt: opts.salt },
      );
      for (const s of result.skipped) process.stderr.write(`Skipped ${s} (not a Routewise object or Secret)\n`);
      if (result.errors.length > 0) {
        for (const e of result.errors) process.stderr.write(formatSourceError(e) + "\n");
        throw new CliError(`${result.errors.length} problem(s) found; no config rendered`, { silent: true });
      }
      process.stdout.write(JSON.stringify(result.config, null, 2) + "\n");
    });
}
