/**
 * The WebhookStore contract: every implementation (embedded SQLite now, PostgreSQL later) must pass it.
 */
import { describe, expect, it } from "vitest";
import type { Database } from "../../src/core/ports.js";
import type { WebhookDelivery, WebhookEndpoint, WebhookStore } from "../../src/core/webhooks/ports.js";

export interface WebhookStoreHarness {
  webhooks: WebhookStore;
  db: Database;
  close(): Promise<void>;
}

const endpoint = (id: string, ownerId: string, events: string[] | null = null): WebhookEndpoint => ({
  id,
  ownerId,
  keyId: "key_1",
  url: `https://hooks.example.com/${id}`,
  events,
  secret: `whsec_${id}`,
  createdAt: Number(id.replace(/\D/g, "")) || 1,
  disabledAt: null,
  disabledReason: null,
});

const event = (id: string, taskId: string, type = "video.completed") => ({
  id,
  taskId,
  ownerId: "owner_a",
  type,
  payload: JSON.stringify({ type, data: { id: taskId } }),
  createdAt: 10,
});

const delivery = (id: string, eventId: string, taskId: string): WebhookDelivery => ({
  id,
  eventId,
  eventType: "video.completed",
  taskId,
  ownerId: "owner_a",
  endpointId: null,
  url: "https://hooks.example.com/cb",
  status: "pending",
  attemptCount: 0,
  nextAttemptAt: 10,
  createdAt: Number(id.replace(/\D/g, "")),
  updatedAt: 10,
});

export function webhookStoreContract(name: string, open: () => Promise<WebhookStoreHarness>): void {
  describe(`WebhookStore contract: ${name}`, () => {
    const withStore = (fn: (h: WebhookStoreHarness) => Promise<void>) => async () => {
      const h = await open();
      try {
        await fn(h);
      } finally {
        await h.close();
      }
    };

    it(
      "keeps each owner's endpoints apart and picks those subscribed to an event type",
      withStore(async ({ webhooks }) => {
        await webhooks.insertEndpoint(endpoint("whe_1", "owner_a"));
        await webhooks.insertEndpoint(endpoint("whe_2", "owner_a", ["video.failed"]));
        await webhooks.insertEndpoint(endpoint("whe_3", "owner_b"));
        expect((await webhooks.listEndpoints("owner_a")).map((e) => e.id)).toEqual(["whe_1", "whe_2"]);
        expect(await webhooks.getEndpoint("whe_2")).toEqual(endpoint("whe_2", "owner_a", ["video.failed"]));
        expect((await webhooks.endpointsFor("owner_a", "video.completed")).map((e) => e.id)).toEqual([
          "whe_1",
        ]);
        expect((await webhooks.endpointsFor("owner_a", "video.failed")).map((e) => e.id)).toEqual([
          "whe_1",
          "whe_2",
        ]);
        expect(await webhooks.deleteEndpoint("owner_b", "whe_1")).toBe(false);
        expect(await webhooks.deleteEndpoint("owner_a", "whe_1")).toBe(true);
        expect((await webhooks.listEndpoints("owner_a")).map((e) => e.id)).toEqual(["whe_2"]);
      }),
    );

    it(
      "a disabled endpoint gets no events until it is enabled again; only its owner may enable it",
      withStore(async ({ webhooks }) => {
        await webhooks.insertEndpoint(endpoint("whe_1", "owner_a"));
        await webhooks.insertEndpoint(endpoint("whe_2", "owner_a"));
        expect(await webhooks.setEndpointDisabled("whe_1", { at: 50, reason: "410 Gone" }, {})).toBe(true);
        expect(await webhooks.getEndpoint("whe_1")).toMatchObject({
          disabledAt: 50,
          disabledReason: "410 Gone",
        });
        expect((await webhooks.endpointsFor("owner_a", "video.completed")).map((e) => e.id)).toEqual([
          "whe_2",
        ]);
        // Still listed for its owner, who can see why.
        expect((await webhooks.listEndpoints("owner_a")).map((e) => e.id)).toEqual(["whe_1", "whe_2"]);
        expect(await webhooks.setEndpointDisabled("whe_1", null, { ownerId: "owner_b" })).toBe(false);
        expect(await webhooks.setEndpointDisabled("whe_1", null, { ownerId: "owner_a" })).toBe(true);
        expect(await webhooks.getEndpoint("whe_1")).toMatchObject({ disabledAt: null, disabledReason: null });
        expect((await webhooks.endpointsFor("owner_a", "video.completed")).map((e) => e.id)).toEqual([
          "whe_1",
          "whe_2",
        ]);
        expect(await webhooks.setEndpointDisabled("whe_9", null, {})).toBe(false);
      }),
    );

    it(
      "replaces an owner's callback secret",
      withStore(async ({ webhooks }) => {
        expect(await webhooks.callbackSecret("owner_a")).toBeUndefined();
        await webhooks.setCallbackSecret("owner_a", "whsec_one", 1);
        await webhooks.setCallbackSecret("owner_a", "whsec_two", 2);
        expect(await webhooks.callbackSecret("owner_a")).toBe("whsec_two");
        expect(await webhooks.callbackSecret("owner_b")).toBeUndefined();
      }),
    );

    it(
      "stores one event per task and type, and nothing from a transaction that rolls back",
      withStore(async ({ webhooks, db }) => {
        expect(await db.transaction((tx) => webhooks.insertEvent(event("evt_1", "t1"), tx))).toBe(true);
        expect(await db.transaction((tx) => webhooks.insertEvent(event("evt_2", "t1"), tx))).toBe(false);
        expect(
          await db.transaction((tx) => webhooks.insertEvent(event("evt_3", "t1", "video.failed"), tx)),
        ).toBe(true);
        expect(await webhooks.getEvent("evt_1")).toEqual(event("evt_1", "t1"));
        expect(await webhooks.getEvent("evt_2")).toBeUndefined();
        await expect(
          db.transaction(async (tx) => {
            await webhooks.insertEvent(event("evt_4", "t2"), tx);
            await webhooks.insertDelivery(delivery("whd_4", "evt_4", "t2"), tx);
            throw new Error("roll back");
          }),
        ).rejects.toThrow("roll back");
        expect(await webhooks.getEvent("evt_4")).toBeUndefined();
        expect(await webhooks.getDelivery("whd_4")).toBeUndefined();
      }),
    );

    it(
      "records attempts with the delivery's state and lists deliveries with their attempts",
      withStore(async ({ webhooks, db }) => {
        await db.transaction(async (tx) => {
          await webhooks.insertEvent(event("evt_1", "t1"), tx);
          await webhooks.insertDelivery(delivery("whd_1", "evt_1", "t1"), tx);
          await webhooks.insertEvent(event("evt_2", "t2"), tx);
          await webhooks.insertDelivery(delivery("whd_2", "evt_2", "t2"), tx);
        });
        await webhooks.recordAttempt(
          {
            deliveryId: "whd_1",
            attempt: 1,
            startedAt: 20,
            durationMs: 5,
            statusCode: 500,
            error: "HTTP 500",
          },
          { status: "pending", nextAttemptAt: 100 },
        );
        await db.transaction((tx) =>
          webhooks.recordAttempt(
            { deliveryId: "whd_1", attempt: 2, startedAt: 100, durationMs: 3, statusCode: 200, error: null },
            { status: "delivered", nextAttemptAt: null },
            tx,
          ),
        );
        expect(await webhooks.getDelivery("whd_1")).toMatchObject({
          status: "delivered",
          attemptCount: 2,
          nextAttemptAt: null,
          updatedAt: 103,
        });
        const all = await webhooks.listDeliveries({ limit: 10 });
        expect(all.map((d) => d.id)).toEqual(["whd_2", "whd_1"]);
        expect(all[1]?.attempts.map((a) => [a.attempt, a.statusCode, a.error])).toEqual([
          [1, 500, "HTTP 500"],
          [2, 200, null],
        ]);
        expect(all[0]?.attempts).toEqual([]);
        expect((await webhooks.listDeliveries({ taskId: "t2", limit: 10 })).map((d) => d.id)).toEqual([
          "whd_2",
        ]);
        expect((await webhooks.listDeliveries({ status: "delivered", limit: 10 })).map((d) => d.id)).toEqual([
          "whd_1",
        ]);
        expect(await webhooks.listDeliveries({ limit: 1 })).toHaveLength(1);
        expect((await webhooks.listDeliveries({ id: "whd_1", limit: 10 })).map((d) => d.id)).toEqual([
          "whd_1",
        ]);

        // Only a failed delivery goes back to pending.
        expect(await db.transaction((tx) => webhooks.requeueFailed("whd_1", 200, tx))).toBe(false);
        await webhooks.recordAttempt(
          { deliveryId: "whd_2", attempt: 1, startedAt: 20, durationMs: 1, statusCode: 410, error: "gone" },
          { status: "failed", nextAttemptAt: null },
        );
        expect(await db.transaction((tx) => webhooks.requeueFailed("whd_2", 200, tx))).toBe(true);
        expect(await webhooks.getDelivery("whd_2")).toMatchObject({
          status: "pending",
          nextAttemptAt: 200,
          attemptCount: 1,
        });
      }),
    );
  });
}
