/**
 * What a storyboard shows beside the task view: its shots, each with its child task and status,
 * and one progress for the whole film, each shot weighted by its duration.
 */
import type { StoryboardPlan, Task, TaskStatus } from "../tasks/task.js";
import type { ShotRecord, StoryboardStore } from "./ports.js";

/** A shot as the query shows it; `waiting` until its turn comes (no task yet). */
export interface ShotView {
  index: number;
  task_id: string | null;
  status: TaskStatus | "waiting";
  model: string;
  duration: number;
  progress: number;
  transition: "cut" | "crossfade";
  caption: string | null;
}

/** Each shot's share of the film's work: its duration over the total. */
export const shotWeights = (plan: StoryboardPlan): number[] => {
  const total = plan.shots.reduce((s, shot) => s + shot.request.duration, 0);
  return plan.shots.map((shot) => (total > 0 ? shot.request.duration / total : 0));
};

/** 0–99 while the film is being made: finished shots count whole, a running one by its own progress. */
export function storyboardProgress(plan: StoryboardPlan, byIndex: readonly (Task | undefined)[]): number {
  const weights = shotWeights(plan);
  const sum = byIndex.reduce(
    (acc, child, i) =>
      acc + (weights[i] ?? 0) * (child?.status === "completed" ? 100 : child ? child.progress : 0),
    0,
  );
  return Math.max(0, Math.min(99, Math.floor(sum)));
}

/** The shots of `storyboard` with their tasks (`children[i]` is shot i's, when started), and the progress. */
export function storyboardView(
  storyboard: Task,
  records: readonly ShotRecord[],
  children: ReadonlyMap<string, Task>,
): { shots: ShotView[]; progress: number } | null {
  const plan = storyboard.request.storyboard;
  if (!plan) return null;
  const byIndex = plan.shots.map((_s, i) => {
    const id = records.find((r) => r.index === i)?.childId;
    return id === undefined ? undefined : children.get(id);
  });
  const shots = plan.shots.map((shot, i): ShotView => {
    const id = records.find((r) => r.index === i)?.childId ?? null;
    const child = byIndex[i];
    return {
      index: i,
      task_id: id,
      status: id === null ? "waiting" : (child?.status ?? "failed"),
      model: shot.request.model,
      duration: shot.request.duration,
      progress: child?.progress ?? 0,
      transition: shot.transition,
      caption: shot.caption ?? null,
    };
  });
  const running = storyboard.status === "pending" || storyboard.status === "processing";
  return { shots, progress: running ? storyboardProgress(plan, byIndex) : storyboard.progress };
}

/** The storyboard part of the query of `task` (null for other tasks), read from the shot table and the shots' tasks. */
export async function loadStoryboardView(
  deps: { storyboards: StoryboardStore; peek(id: string): Promise<Task | undefined> },
  task: Task,
): Promise<{ shots: ShotView[]; progress: number; audio: "keep" | "silent"; crossfade_s: number } | null> {
  const plan = task.request.storyboard;
  if (!plan) return null;
  const records = await deps.storyboards.shots(task.id);
  const found = await Promise.all(records.map((r) => deps.peek(r.childId)));
  const children = new Map(found.filter((c): c is Task => c !== undefined).map((c) => [c.id, c]));
  const view = storyboardView(task, records, children);
  return view && { ...view, audio: plan.audio, crossfade_s: plan.crossfadeS };
}
