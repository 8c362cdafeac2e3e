/**
 * Credits: `POST /admin/accounts/{owner_id}/credits` (top up), `GET /admin/accounts/{owner_id}`,
 * and `GET /v1/usage?days=` for the caller's own owner: balance, used, and charges and refunds per
 * day, key and model. Amounts are whole credits.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { parseInput } from "../../core/params.js";
import type { Account } from "../../core/ports.js";
import { principalOf, requireAdmin, requireKey } from "../auth.js";
import { type AccountView, queryInt, type UsageResponse } from "../schemas.js";
import type { AppServices } from "../services.js";

export const topUpSchema = z.strictObject({ amount: z.int().min(1).max(1_000_000_000) });
export const usageQuerySchema = z.strictObject({
  days: queryInt(1, 366),
});

const view = (a: Account): AccountView => ({
  owner_id: a.ownerId,
  balance: a.balance,
  used: a.used,
  topped_up: a.toppedUp,
});

export function accounts(app: FastifyInstance, s: AppServices): void {
  const admin = requireAdmin(s.adminTokenHash, s.keys, s.clock);

  app.post("/admin/accounts/:owner_id/credits", { onRequest: admin }, async (req): Promise<AccountView> => {
    const { owner_id } = req.params as { owner_id: string };
    const params = parseInput(topUpSchema, req.body ?? {});
    const account = await s.accounts.topUp(owner_id, params.amount, s.clock.now());
    req.log.info({ ownerId: owner_id, amount: params.amount }, "credits topped up");
    return view(account);
  });

  app.get("/admin/accounts/:owner_id", { onRequest: admin }, async (req): Promise<AccountView> => {
    const { owner_id } = req.params as { owner_id: string };
    return view(await s.accounts.get(owner_id));
  });

  const usage = async (ownerId: string, days: number): Promise<UsageResponse> => {
    const rows = await s.accounts.usage(ownerId, { sinceMs: s.clock.now() - days * 86_400_000 });
    return {
      ...view(await s.accounts.get(ownerId)),
      billing: s.billingEnabled,
      unit: "credits",
      data: rows.map((r) => ({
        day: r.day,
        key_id: r.keyId,
        model: r.model,
        charged: r.charged,
        refunded: r.refunded,
        net: r.charged - r.refunded,
      })),
    };
  };

  app.get("/v1/usage", { onRequest: requireKey(s) }, async (req): Promise<UsageResponse> => {
    const params = parseInput(usageQuerySchema, req.query);
    return usage(principalOf(req).ownerId, params.days ?? 30);
  });

  app.get("/admin/accounts/:owner_id/usage", { onRequest: admin }, async (req): Promise<UsageResponse> => {
    const params = parseInput(usageQuerySchema, req.query);
    return usage((req.params as { owner_id: string }).owner_id, params.days ?? 30);
  });

  app.get("/admin/prices", { onRequest: admin }, async () => ({
    billing: s.billingEnabled,
    unit: "credits",
    per_task: s.prices?.perTask ?? [],
    per_second: s.prices?.perSecond ?? {},
  }));
}
