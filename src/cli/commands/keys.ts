/** `reelay keys create | ls | revoke`: API keys (needs REELAY_ADMIN_TOKEN). */
import type { Command } from "commander";
import { intArg } from "../args.js";
import type { CliContext } from "../context.js";
import { table } from "../output.js";

export function registerKeyCommands(p: Command, ctx: CliContext): void {
  const keys = p.command("keys").description("API keys (needs REELAY_ADMIN_TOKEN)");
  keys
    .command("create")
    .option("--name <name>", "a label")
    .option("--user <owner>", "the owner the key acts for (keys of one owner share tasks)")
    .option("--models <list>", "comma-separated models the key may use")
    .option("--expires-in <days>", "days until it stops working", intArg)
    .option("--credits <n>", "top up the owner's credits by n", intArg)
    .option("--json", "machine-readable output")
    .action(async (o) => {
      const k = await ctx.client().createKey({
        ...(o.name ? { name: o.name } : {}),
        ...(o.user ? { owner_id: o.user } : {}),
        ...(o.models
          ? {
              allowed_models: String(o.models)
                .split(",")
                .map((m: string) => m.trim()),
            }
          : {}),
        ...(o.expiresIn ? { expires_at: Math.floor(Date.now() / 1000) + o.expiresIn * 86_400 } : {}),
      });
      const account = o.credits ? await ctx.client().topUp(k.owner_id, o.credits) : undefined;
      ctx.print(
        o.json,
        { ...k, ...(account ? { balance: account.balance } : {}) },
        `${k.key}\n(id ${k.id}, owner ${k.owner_id}${account ? `, balance ${account.balance} credits` : ""}; shown once, keep it)`,
      );
    });
  keys
    .command("ls")
    .option("--user <owner>", "only this owner's keys")
    .option("--json", "machine-readable output")
    .action(async (o) => {
      const list = await ctx.client().listKeys(o.user);
      const when = (s: number | null) => (s === null ? "-" : new Date(s * 1000).toISOString().slice(0, 16));
      ctx.print(
        o.json,
        list.data,
        table([
          ["ID", "NAME", "OWNER", "PREFIX", "EXPIRES", "REVOKED"],
          ...list.data.map((k) => [
            k.id,
            k.name,
            k.owner_id,
            k.prefix,
            when(k.expires_at),
            when(k.revoked_at),
          ]),
        ]),
      );
    });
  keys
    .command("revoke <id>")
    .option("--json", "machine-readable output")
    .action(async (id: string, o) => {
      const k = await ctx.client().revokeKey(id);
      ctx.print(o.json, k, `${k.id} revoked`);
    });
}
