/**
 * Credits: `POST /admin/accounts/{owner_id}/credits` (top up), `GET /admin/accounts/{owner_id}`,
 * and `GET /v1/usage?days=` for the caller's own owner: balance, used, and charges and refunds per
 * day, key and model. Amounts are whole credits.
 */
import { z } from "zod";
import type { Account } from "../../core/accounts/ports.js";
import { parseInput } from "../../core/tasks/params.js";
import { principalOf } from "../auth.js";
import type { Route } from "../route.js";
import {
  type AccountView,
  accountSchema,
  queryInt,
  type UsageResponse,
  usageResponseSchema,
} from "../schemas.js";
import type { AppServices } from "../services.js";

export const topUpSchema = z.strictObject({ amount: z.int().min(1).max(1_000_000_000) });
export const usageQuerySchema = z.strictObject({
  days: queryInt(1, 366),
});
const usageOk = { status: 200, schema: usageResponseSchema, description: "Usage" };
const daysParam = {
  days: { schema: usageQuerySchema.shape.days, description: "How many days back (default 30)" },
};

const view = (a: Account): AccountView => ({
  owner_id: a.ownerId,
  balance: a.balance,
  used: a.used,
  topped_up: a.toppedUp,
});

async function usage(s: AppServices, ownerId: string, days: number): Promise<UsageResponse> {
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
}

export const adminCreditsTopUp: Route = {
  method: "POST",
  url: "/admin/accounts/:owner_id/credits",
  auth: "admin",
  summary: "Top up an owner's credits",
  tag: "Admin",
  body: topUpSchema,
  ok: { status: 200, schema: accountSchema, description: "The account after" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<AccountView> => {
      const { owner_id } = req.params as { owner_id: string };
      const params = parseInput(topUpSchema, req.body ?? {});
      const account = await s.accounts.topUp(owner_id, params.amount, s.clock.now());
      req.log.info({ ownerId: owner_id, amount: params.amount }, "credits topped up");
      return view(account);
    },
};

export const adminAccountGet: Route = {
  method: "GET",
  url: "/admin/accounts/:owner_id",
  auth: "admin",
  summary: "An owner's balance, used and top-ups",
  tag: "Admin",
  ok: { status: 200, schema: accountSchema, description: "The account" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<AccountView> => {
      const { owner_id } = req.params as { owner_id: string };
      return view(await s.accounts.get(owner_id));
    },
};

export const v1Usage: Route = {
  method: "GET",
  url: "/v1/usage",
  auth: "key",
  summary: "Your balance and charges and refunds per day, key and model",
  tag: "Unified API",
  query: daysParam,
  ok: usageOk,
  errors: [],
  handler:
    (s) =>
    async (req): Promise<UsageResponse> => {
      const params = parseInput(usageQuerySchema, req.query);
      return usage(s, principalOf(req).ownerId, params.days ?? 30);
    },
};

export const adminAccountUsage: Route = {
  method: "GET",
  url: "/admin/accounts/:owner_id/usage",
  auth: "admin",
  summary: "An owner's usage per day, key and model",
  tag: "Admin",
  query: daysParam,
  ok: usageOk,
  errors: [],
  handler:
    (s) =>
    async (req): Promise<UsageResponse> => {
      const params = parseInput(usageQuerySchema, req.query);
      return usage(s, (req.params as { owner_id: string }).owner_id, params.days ?? 30);
    },
};

export const adminPrices: Route = {
  method: "GET",
  url: "/admin/prices",
  auth: "admin",
  summary: "The price table (whole credits; per task, or per second)",
  tag: "Admin",
  ok: {
    status: 200,
    description:
      "{billing, unit, per_task, per_second, catalogue}: `catalogue` holds the model catalogue's per-second prices by resolution (and with audio), used for models the table does not price",
  },
  errors: [],
  handler: (s) => async () => ({
    billing: s.billingEnabled,
    unit: "credits",
    per_task: s.prices?.perTask ?? [],
    per_second: s.prices?.perSecond ?? {},
    catalogue: Object.fromEntries(
      [...(s.prices?.catalogue ?? new Map())].map(([name, m]) => [
        name,
        { per_second: m.price?.perSecond ?? {}, with_audio: m.price?.withAudio ?? null },
      ]),
    ),
  }),
};
