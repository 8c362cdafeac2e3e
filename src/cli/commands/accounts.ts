/** `reelay credits add | show` (admin) and `reelay usage` (the caller's own balance and usage). */
import type { Command } from "commander";
import { intArg } from "../args.js";
import type { CliContext } from "../context.js";
import { table } from "../output.js";

export function registerCreditCommands(p: Command, ctx: CliContext): void {
  const credits = p.command("credits").description("owners' credits (needs REELAY_ADMIN_TOKEN)");
  credits
    .command("add <owner> <amount>")
    .option("--json", "machine-readable output")
    .action(async (owner: string, amount: string, o) => {
      const a = await ctx.client().topUp(owner, intArg(amount));
      ctx.print(o.json, a, `${a.owner_id}: balance ${a.balance}, used ${a.used} credits`);
    });
  credits
    .command("show <owner>")
    .option("--json", "machine-readable output")
    .action(async (owner: string, o) => {
      const a = await ctx.client().account(owner);
      ctx.print(
        o.json,
        a,
        `${a.owner_id}: balance ${a.balance}, used ${a.used}, topped up ${a.topped_up} credits`,
      );
    });
}

export function registerUsageCommand(p: Command, ctx: CliContext): void {
  p.command("usage")
    .description("your balance and usage per day, key and model")
    .option("--days <n>", "days back", intArg, 30)
    .option("--json", "machine-readable output")
    .action(async (o) => {
      const u = await ctx.client().usage(o.days);
      ctx.print(
        o.json,
        u,
        `balance ${u.balance}, used ${u.used} credits${u.billing ? "" : " (billing is off)"}\n${table([
          ["DAY", "KEY", "MODEL", "CHARGED", "REFUNDED", "NET"],
          ...u.data.map((r) => [
            r.day,
            r.key_id ?? "-",
            r.model ?? "-",
            String(r.charged),
            String(r.refunded),
            String(r.net),
          ]),
        ])}`,
      );
    });
}
