/**
 * A task's money: `GET /v1/video/ledger?id=` (the owner's task) and `GET /admin/tasks/{id}/ledger`
 * (any task, also one deleted since: the ledger is kept). Its hold, settlement and any refund, each
 * with what it was reckoned from, and the task's `cost` as both APIs show it.
 */
import { z } from "zod";
import type { LedgerEntry } from "../../core/accounts/ports.js";
import { ErrorCode, errors } from "../../core/errors.js";
import { isTaskId } from "../../core/ids.js";
import type { Task } from "../../core/tasks/task.js";
import { costView } from "../../core/tasks/views.js";
import { principalOf } from "../auth.js";
import { type TaskLedger, taskLedgerSchema } from "../money_schemas.js";
import type { Route } from "../route.js";
import type { AppServices } from "../services.js";
import { taskIdQuery } from "./v1_video_query.js";

async function ledgerOf(s: AppServices, taskId: string, task: Task | undefined): Promise<TaskLedger> {
  const entries = await s.accounts.entries(taskId);
  return {
    task_id: taskId,
    currency: "credits",
    cost: task ? costView(task) : null,
    data: entries
      .filter((e): e is LedgerEntry & { kind: "hold" | "settle" | "refund" } => e.kind !== "topup")
      .map((e) => ({
        id: e.id,
        kind: e.kind,
        amount: e.amount,
        attempt: e.attempt,
        created_at: e.createdAt,
        detail: e.detail,
      })),
  };
}

const ok = {
  status: 200,
  schema: taskLedgerSchema,
  description: "The task's ledger rows (hold, settle, refund), oldest first, and its cost",
};

export const v1VideoLedger: Route = {
  method: "GET",
  url: "/v1/video/ledger",
  auth: "key",
  summary: "A task's hold, settlement and refund",
  tag: "Unified API",
  query: { id: { schema: z.string(), required: true, description: "The id create returned" } },
  ok,
  errors: [ErrorCode.taskNotFound],
  handler:
    (s) =>
    async (req): Promise<TaskLedger> => {
      const { id } = taskIdQuery(req.query, []);
      const task = await s.engine.getOwned(principalOf(req).ownerId, id);
      return ledgerOf(s, id, task);
    },
};

export const adminTaskLedger: Route = {
  method: "GET",
  url: "/admin/tasks/:id/ledger",
  auth: "admin",
  summary: "Any task's hold, settlement and refund (also of a deleted task)",
  tag: "Admin",
  ok,
  errors: [ErrorCode.taskNotFound],
  handler:
    (s) =>
    async (req): Promise<TaskLedger> => {
      const { id } = req.params as { id: string };
      if (!isTaskId(id)) throw errors.taskNotFound(id);
      const [task, ledger] = await Promise.all([s.engine.peek(id), s.accounts.entries(id)]);
      if (!task && ledger.length === 0) throw errors.taskNotFound(id);
      return ledgerOf(s, id, task);
    },
};
