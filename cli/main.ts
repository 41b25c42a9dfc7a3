/** The `routewise` command line: wiring only; each subcommand lives in cli/commands/. */
import { Command, CommanderError } from "commander";
import { registerClassifyCommand } from "./commands/classify.js";
import { registerEvalCommand } from "./commands/eval.js";
import { registerOperatorCommand } from "./commands/operator.js";
import { registerRenderCommand } from "./commands/render.js";
import { registerReplayCommand } from "./commands/replay.js";
import { registerRouterCommand } from "./commands/router.js";
import { registerSimulateCommand } from "./commands/simulate.js";
import { CliError } from "./errors.js";

export function buildProgram(): Command {
  const program = new Command("routewise")
    .description("Routewise: route each LLM request to the cheapest model that keeps the quality bar")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  registerRenderCommand(program);
  registerRouterCommand(program);
  registerOperatorCommand(program);
  registerClassifyCommand(program);
  registerEvalCommand(program);
  registerSimulateCommand(program);
  registerReplayCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      if (!err.silent || err.message) process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

// `process.exitCode` (not process.exit) so long-running subcommands (router, operator) keep running.
main(process.argv).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
