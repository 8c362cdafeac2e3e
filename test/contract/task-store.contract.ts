/** The TaskStore contract, run on every implementation. */
import { describe, expect, it } from "vitest";
import type { Database } from "../../src/core/ports.js";
import type { TaskStore } from "../../src/core/tasks/ports.js";
import { sampleTask } from "./job-queue.contract.js";

export function taskStoreContract(
  name: string,
  open: () => Promise<{ db: Database; tasks: TaskStore; close(): Promise<void> }>,
) {
  describe(`TaskStore contract: ${name}`, () => {
    const id = "sora-2:task_01k9009g8ef1esae6388chgcpx";

    it("stores and reads back a task unchanged", async () => {
      const { tasks, close } = await open();
      try {
        await tasks.insert(sampleTask(id));
        expect(await tasks.get(id)).toEqual(sampleTask(id));
        expect(await tasks.get("sora-2:task_01k9009g8ef1esae6388chgcpy")).toBeUndefined();
      } finally {
        await close();
      }
    });

    it("keeps a task's cost as inserted and as a patch sets it; a task without one has none", async () => {
      const { tasks, close } = await open();
      try {
        const cost = { held: 20, charged: null, refunded: 0, rule: "per_second" as const, seconds: 10 };
        await tasks.insert({ ...sampleTask(id), cost });
        expect(await tasks.get(id)).toEqual({ ...sampleTask(id), cost });
        const settled = { ...cost, charged: 14, refunded: 6, billedSeconds: 7, basis: "delivered" as const };
        expect(await tasks.update(id, { cost: settled }, { now: 5 })).toMatchObject({ cost: settled });
        expect((await tasks.get(id))?.cost).toEqual(settled);
        const other = "sora-2:task_01k9009g8ef1esae6388chgcpy";
        await tasks.insert(sampleTask(other));
        expect((await tasks.get(other))?.cost).toBeUndefined();
      } finally {
        await close();
      }
    });

    it("lists an owner's tasks by creation time, after a cursor, in both orders; delete removes", async () => {
      const { tasks, close } = await open();
      try {
        const mk = (n: number, createdAt: number, owner = "owner_1") => ({
          ...sampleTask(`sora-2:task_01k9009g8ef1esae6388chg${String(n).padStart(3, "0")}`, owner),
          createdAt,
        });
        // Two share a creation time: the id breaks the tie.
        const all = [mk(1, 10), mk(2, 20), mk(3, 20), mk(4, 30), mk(5, 5, "owner_2")];
        for (const t of all) await tasks.insert(t);
        const ids = (ts: { id: string }[]) => ts.map((t) => t.id.slice(-3));
        expect(ids(await tasks.listForOwner("owner_1", { limit: 10, order: "asc" }))).toEqual([
          "001",
          "002",
          "003",
          "004",
        ]);
        expect(ids(await tasks.listForOwner("owner_1", { limit: 10, order: "desc" }))).toEqual([
          "004",
          "003",
          "002",
          "001",
        ]);
        const after2 = { createdAt: 20, id: all[1]?.id ?? "" };
        expect(ids(await tasks.listForOwner("owner_1", { after: after2, limit: 10, order: "asc" }))).toEqual([
          "003",
          "004",
        ]);
        expect(ids(await tasks.listForOwner("owner_1", { after: after2, limit: 10, order: "desc" }))).toEqual(
          ["001"],
        );
        expect(ids(await tasks.listForOwner("owner_1", { limit: 2, order: "asc" }))).toEqual(["001", "002"]);
        await tasks.update(all[2]?.id ?? "", { status: "processing" }, { now: 40 });
        expect(
          ids(await tasks.listForOwner("owner_1", { limit: 10, order: "desc", status: "processing" })),
        ).toEqual(["003"]);
        expect(
          ids(await tasks.listForOwner("owner_2", { limit: 10, order: "desc", status: "processing" })),
        ).toEqual([]);
        expect(await tasks.delete(all[0]?.id ?? "")).toBe(true);
        expect(await tasks.delete(all[0]?.id ?? "")).toBe(false);
        expect(ids(await tasks.listForOwner("owner_1", { limit: 10, order: "asc" }))).toEqual([
          "002",
          "003",
          "004",
        ]);
      } finally {
        await close();
      }
    });

    it("update applies only from allowed statuses and stamps status changes", async () => {
      const { tasks, close } = await open();
      try {
        await tasks.insert(sampleTask(id));
        const moved = await tasks.update(
          id,
          { status: "processing", progress: 12.6 },
          { now: 50, onlyFrom: ["pending"] },
        );
        expect(moved).toMatchObject({ status: "processing", progress: 13, statusUpdatedAt: 50 });
        expect(
          await tasks.update(id, { status: "completed" }, { now: 60, onlyFrom: ["pending"] }),
        ).toBeUndefined();
        const progressed = await tasks.update(id, { progress: 40 }, { now: 70 });
        expect(progressed?.statusUpdatedAt).toBe(50);
        const done = await tasks.update(
          id,
          {
            status: "completed",
            result: {
              videoKey: "v",
              thumbnailKey: "t",
              spritesheetKey: null,
              width: 1080,
              height: 1920,
              durationS: 15,
              bytes: 10,
              watermarked: false,
            },
          },
          { now: 80, onlyFrom: ["processing"] },
        );
        expect(done?.result?.videoKey).toBe("v");
        expect((await tasks.countByStatus()).completed).toBe(1);
      } finally {
        await close();
      }
    });

    it("update with beforeDeadline applies only while the task's deadline is after that time", async () => {
      const { tasks, close } = await open();
      try {
        await tasks.insert({ ...sampleTask(id), deadlineAt: 1000 });
        const late = { now: 50, onlyFrom: ["pending"] as const, beforeDeadline: 1000 };
        expect(await tasks.update(id, { status: "processing" }, late)).toBeUndefined();
        expect((await tasks.get(id))?.status).toBe("pending");
        const inTime = { now: 50, onlyFrom: ["pending"] as const, beforeDeadline: 999 };
        expect(await tasks.update(id, { status: "processing" }, inTime)).toMatchObject({
          status: "processing",
        });
      } finally {
        await close();
      }
    });

    it("a count of active tasks inside a transaction holds as a limit against concurrent creates", async () => {
      const { db, tasks, close } = await open();
      try {
        // Ten creates at once, each allowed only while the owner has fewer than 3 active tasks.
        const created = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            db.transaction(async (tx) => {
              if ((await tasks.countActive("owner_1", tx)) >= 3) return false;
              await tasks.insert(sampleTask(`sora-2:task_01k9009g8ef1esae6388chg${100 + i}`), tx);
              return true;
            }),
          ),
        );
        expect(created.filter(Boolean)).toHaveLength(3);
        expect(await tasks.countActive("owner_1")).toBe(3);
      } finally {
        await close();
      }
    });

    it("a read outside a transaction sees only committed rows: old while it runs, new after, old after a rollback", async () => {
      const { db, tasks, close } = await open();
      try {
        await tasks.insert(sampleTask(id));
        expect((await tasks.get(id))?.status).toBe("pending"); // read once, so a cache would hold it
        await db.transaction(async (tx) => {
          await tasks.update(id, { status: "processing", progress: 40 }, { now: 50 }, tx);
          expect((await tasks.get(id, tx))?.status).toBe("processing");
          // Another reader, while the transaction is open, sees the committed row (and may cache it).
          expect((await tasks.get(id))?.status).toBe("pending");
        });
        expect(await tasks.get(id)).toMatchObject({ status: "processing", progress: 40 });

        await expect(
          db.transaction(async (tx) => {
            await tasks.update(id, { status: "failed" }, { now: 60 }, tx);
            expect((await tasks.get(id))?.status).toBe("processing");
            throw new Error("roll back");
          }),
        ).rejects.toThrow("roll back");
        expect((await tasks.get(id))?.status).toBe("processing");

        // Writes outside a transaction are seen at once; a deleted task is gone.
        await tasks.update(id, { progress: 90 }, { now: 70 });
        expect((await tasks.get(id))?.progress).toBe(90);
        expect(await tasks.delete(id)).toBe(true);
        expect(await tasks.get(id)).toBeUndefined();
        await tasks.insert({ ...sampleTask(id), progress: 5 });
        expect((await tasks.get(id))?.progress).toBe(5);
      } finally {
        await close();
      }
    });
  });
}
