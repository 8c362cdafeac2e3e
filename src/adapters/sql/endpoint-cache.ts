/**
 * The embedded store's enabled webhook endpoints, per owner: every task that ends asks for its
 * owner's (a statement, and a decryption per endpoint, on each completion), and they change only
 * when this process writes them: SQLite mode is one process, and every write to
 * `webhook_endpoints` goes through the webhook store, which empties this cache then and again once
 * the write's transaction has ended (so a rolled-back write cannot stay cached). A read that
 * began before a write does not fill it (the generation moved). Not used on PostgreSQL, where
 * other processes write.
 */
import type { Tx } from "../../core/ports.js";
import type { WebhookEndpoint } from "../../core/webhooks/ports.js";
import { afterTransaction } from "./schema.js";

export interface EndpointCache {
  /** The owner's enabled endpoints as `read` returns them, from the cache when they are in it. */
  enabledFor(ownerId: string, read: () => Promise<WebhookEndpoint[]>): Promise<readonly WebhookEndpoint[]>;
  /** Forgets every owner's, now and once `tx` (when given) has ended. */
  clear(tx: Tx | undefined): void;
}

export function createEndpointCache(max: number): EndpointCache {
  const entries = new Map<string, readonly WebhookEndpoint[]>();
  let generation = 0;
  const clearNow = () => {
    entries.clear();
    generation++;
  };
  return {
    async enabledFor(ownerId, read) {
      const hit = entries.get(ownerId);
      if (hit !== undefined) return hit;
      const before = generation;
      const list = Object.freeze((await read()).map((e) => Object.freeze(e)));
      if (generation === before) {
        if (entries.size >= max) entries.clear();
        entries.set(ownerId, list);
      }
      return list;
    },
    clear(tx) {
      clearNow();
      afterTransaction(tx, clearNow);
    },
  };
}
