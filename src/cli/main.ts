#!/usr/bin/env node
/**
 * `reelay`: the command line for Reelay's API. Reads REELAY_URL (default http://localhost:8787),
 * REELAY_API_KEY, and REELAY_ADMIN_TOKEN for the `keys` commands. Each command group lives in
 * `commands/`; this file lists them in the order `--help` shows them.
 */
import { Command } from "commander";
import { isEntryPoint } from "../main/entry.js";
import { UsageError } from "./args.js";
import { registerCreditCommands, registerUsageCommand } from "./commands/accounts.js";
import { registerAdminTaskCommands } from "./commands/admin_tasks.js";
import { registerCreateCommand } from "./commands/create.js";
import { registerKeyCommands } from "./commands/keys.js";
import { registerModelsCommand } from "./commands/models.js";
import { registerRunCommands } from "./commands/run.js";
import { registerStoryboardCommand } from "./commands/storyboard.js";
import { registerVideoCommands } from "./commands/videos.js";
import { cliContext } from "./context.js";
import { describeError, EXIT, exitCodeOf } from "./output.js";

export function program(env: NodeJS.ProcessEnv, out: (s: string) => void, err: (s: string) => void): Command {
  const ctx = cliContext(env, out, err);
  const p = new Command("reelay").description("Reelay: make videos through a Reelay server").exitOverride();
  p.configureOutput({ writeOut: out, writeErr: err });
  registerRunCommands(p);
  registerCreateCommand(p, ctx);
  registerStoryboardCommand(p, ctx);
  registerVideoCommands(p, ctx);
  registerModelsCommand(p, ctx);
  registerKeyCommands(p, ctx);
  registerCreditCommands(p, ctx);
  registerUsageCommand(p, ctx);
  registerAdminTaskCommands(p, ctx);
  return p;
}

export async function run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const p = program(
    env,
    (s) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`),
    (s) => process.stderr.write(s.endsWith("\n") ? s : `${s}\n`),
  );
  try {
    await p.parseAsync([...argv], { from: "user" });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "commander.helpDisplayed" || code === "commander.version") return EXIT.ok;
    if (code?.startsWith("commander.")) return EXIT.badRequest;
    if (e instanceof UsageError || (e as NodeJS.ErrnoException).code === "ENOENT") {
      process.stderr.write(`reelay: ${(e as Error).message}\n`);
      return EXIT.badRequest;
    }
    process.stderr.write(`reelay: ${describeError(e)}\n`);
    return exitCodeOf(e);
  }
}

if (isEntryPoint(import.meta.url)) {
  run(process.argv.slice(2), process.env).then((code) => process.exit(code));
}
