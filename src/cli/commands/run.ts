/** `reelay serve | worker | all`: running Reelay itself (configured by the server's environment, see the README). */
import type { Command } from "commander";

export function registerRunCommands(p: Command): void {
  for (const [role, what] of [
    ["serve", "run the API and web UI only (needs REELAY_DATABASE_URL; workers run apart)"],
    ["worker", "run jobs only (needs REELAY_DATABASE_URL)"],
    ["all", "run the API, web UI and worker in one process (what `npm start` runs)"],
  ] as const) {
    p.command(role)
      .description(what)
      .action(async () => {
        const { runProcess } = await import("../../main/serve.js");
        await runProcess(role);
        // Runs until a signal: the process exits from its shutdown handler.
        await new Promise<never>(() => undefined);
      });
  }
}
