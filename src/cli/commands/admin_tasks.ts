/** `reelay tasks ls`: every owner's tasks (needs REELAY_ADMIN_TOKEN). */
import type { Command } from "commander";
import { intArg } from "../args.js";
import type { CliContext } from "../context.js";
import { table } from "../output.js";

export function registerAdminTaskCommands(p: Command, ctx: CliContext): void {
  p.command("tasks")
    .description("every owner's tasks (needs REELAY_ADMIN_TOKEN)")
    .command("ls")
    .option("--status <s>", "pending | processing | completed | failed | cancelled")
    .option("--user <owner>", "only this owner's tasks")
    .option("--limit <n>", "how many", intArg, 50)
    .option("--json", "machine-readable output")
    .action(async (o) => {
      const list = await ctx.client().searchTasks({ status: o.status, ownerId: o.user, limit: o.limit });
      ctx.print(
        o.json,
        list.data,
        table([
          ["ID", "OWNER", "STATUS", "PROGRESS", "MODEL", "ERROR"],
          ...list.data.map((t) => [
            t.id,
            t.owner_id,
            t.status,
            `${t.progress}%`,
            t.detail.input.model,
            t.error?.code ?? "",
          ]),
        ]),
      );
    });
}
