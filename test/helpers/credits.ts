/** A key of a new owner with credits on a running Reelay, and a reader of that owner's balance. */
import type { TestApp } from "./app.js";

export async function fundedKey(
  app: Pick<TestApp, "request" | "newKey" | "adminToken">,
  credits: number,
): Promise<{ key: string; owner: string; balance(): Promise<number> }> {
  const owner = `owner-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const key = await app.newKey(owner);
  const res = await app.request(`/admin/accounts/${owner}/credits`, {
    key: app.adminToken,
    body: { amount: credits },
  });
  if (!res.ok) throw new Error(`top-up → ${res.status} ${await res.text()}`);
  const balance = async () =>
    (
      (await (await app.request(`/admin/accounts/${owner}`, { key: app.adminToken })).json()) as {
        balance: number;
      }
    ).balance;
  return { key, owner, balance };
}
