/** The comfyui adapter's per-prompt state from /ws events: the progress rule, endings, memory bounds. */
import { describe, expect, it } from "vitest";
import { createPromptTracker } from "../../src/adapters/providers/comfyui/progress.js";

const NODES = new Set(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
/** A `{type, data}` event of prompt `prompt_id` (null: one that names no prompt). */
const msg = (type: string, data: object, prompt_id: string | null = "p1") => ({
  type,
  data: prompt_id === null ? data : { ...data, prompt_id },
});

function tracker(opts: { maxEntries?: number; idleMs?: number; earlyMs?: number } = {}) {
  const clock = { t: 1_000_000 };
  const t = createPromptTracker({ nodes: NODES, now: () => clock.t, ...opts });
  return { t, clock };
}

describe("comfyui /ws progress rule", () => {
  it("is (nodes done + the running node's value/max) / nodes, floored, below 100 until the history says done", () => {
    const { t } = tracker();
    t.track("p1");
    expect(t.view("p1")).toEqual({ started: false, progress: 0, ended: null });
    t.apply(msg("execution_start", { timestamp: 1 }));
    expect(t.view("p1")).toMatchObject({ started: true, progress: 0 });
    // Nodes 1–3 come from the cache: 3 of 10 done.
    t.apply(msg("execution_cached", { nodes: ["1", "2", "3"] }));
    expect(t.view("p1")?.progress).toBe(30);
    t.apply(msg("executing", { node: "6" }));
    t.apply(msg("executing", { node: "7" })); // 6 has finished: 4 of 10
    expect(t.view("p1")?.progress).toBe(40);
    t.apply(msg("progress", { node: "7", value: 5, max: 20 })); // 4.25 of 10
    expect(t.view("p1")?.progress).toBe(42);
    t.apply(msg("progress", { node: "7", value: 20, max: 20 })); // 5 of 10
    expect(t.view("p1")?.progress).toBe(50);
    for (const n of ["8", "9", "10"]) t.apply(msg("executing", { node: n }));
    t.apply(msg("executed", { node: "10", output: {} }));
    // Every node done would be 100: shown as 99 until /history confirms.
    for (const n of ["4", "5"]) t.apply(msg("executing", { node: n }));
    t.apply(msg("executing", { node: null }));
    expect(t.view("p1")).toMatchObject({ progress: 99, ended: { kind: "finished" } });
  });

  it("never goes back: a reconnect's fresh node or a lower value keeps the figure", () => {
    const { t } = tracker();
    t.track("p1");
    t.apply(msg("executing", { node: "7" }));
    t.apply(msg("progress", { node: "7", value: 18, max: 20 }));
    expect(t.view("p1")?.progress).toBe(9);
    t.apply(msg("progress", { node: "7", value: 2, max: 20 }));
    expect(t.view("p1")?.progress).toBe(9);
  });

  it("after a reconnect counts no prompt as started until an event says so again, keeping its figure", () => {
    const { t } = tracker();
    t.track("p1");
    t.apply(msg("executing", { node: "7" }));
    t.apply(msg("progress", { node: "7", value: 10, max: 20 }));
    t.reconnected();
    expect(t.view("p1")).toEqual({ started: false, progress: 5, ended: null });
    t.apply(msg("progress", { node: "7", value: 12, max: 20 }));
    expect(t.view("p1")).toEqual({ started: true, progress: 6, ended: null });
  });

  it("takes the node from a progress event whose executing was missed; ignores garbage figures", () => {
    const { t } = tracker();
    t.track("p1");
    t.apply(msg("executing", { node: "6" }));
    // `executing 7` was lost: progress names node 7, so 6 has finished.
    t.apply(msg("progress", { node: "7", value: 10, max: 20 }));
    expect(t.view("p1")?.progress).toBe(15);
    for (const [value, max] of [
      [1, 0],
      [Number.NaN, 20],
      ["5", 20],
      [1, -3],
    ])
      t.apply(msg("progress", { node: "7", value, max }));
    expect(t.view("p1")?.progress).toBe(15);
    // Beyond max counts as the node's whole share, no more.
    t.apply(msg("progress", { node: "7", value: 90, max: 20 }));
    expect(t.view("p1")?.progress).toBe(20);
  });

  it("reads newer servers' progress_state (finished and running nodes)", () => {
    const { t } = tracker();
    t.track("p1");
    t.apply(
      msg("progress_state", {
        nodes: {
          "1": { state: "finished", value: 1, max: 1 },
          "2": { state: "finished", value: 1, max: 1 },
          "7": { state: "running", value: 10, max: 20 },
          "8": { state: "pending", value: 0, max: 1 },
        },
      }),
    );
    expect(t.view("p1")).toMatchObject({ started: true, progress: 25 });
  });

  it("counts only the workflow's nodes: ids the server adds (expanded nodes) or repeats do not push it past its share", () => {
    const { t } = tracker();
    t.track("p1");
    t.apply(msg("execution_cached", { nodes: ["1", "1", "99", "7.0.1", 5] }));
    expect(t.view("p1")?.progress).toBe(10);
  });
});

describe("comfyui /ws endings", () => {
  it("names a tracked prompt on success, error, interruption and executing null (for an immediate poll), not on other events", () => {
    const { t } = tracker();
    t.track("p1");
    expect(t.apply(msg("execution_start", {}))).toBeNull();
    expect(t.apply(msg("progress", { node: "7", value: 1, max: 2 }))).toBeNull();
    expect(t.apply(msg("executing", { node: "7" }))).toBeNull();
    expect(t.apply(msg("execution_success", {}))).toBe("p1");
    expect(t.view("p1")?.ended).toEqual({ kind: "success" });
    expect(t.apply(msg("executing", { node: null }))).toBe("p1");
    // executing null after a success keeps the success.
    expect(t.view("p1")?.ended).toEqual({ kind: "success" });

    t.track("p2");
    expect(t.apply(msg("execution_interrupted", { node_id: "7" }, "p2"))).toBe("p2");
    expect(t.view("p2")?.ended).toEqual({ kind: "interrupted" });

    t.track("p3");
    expect(
      t.apply(
        msg(
          "execution_error",
          {
            node_id: "7",
            node_type: "KSampler",
            exception_type: "torch.OutOfMemoryError",
            exception_message: "Allocation on device ",
          },
          "p3",
        ),
      ),
    ).toBe("p3");
    expect(t.view("p3")?.ended).toEqual({
      kind: "error",
      code: "torch.OutOfMemoryError",
      message: "Allocation on device in node 7 (KSampler)",
      class: "overloaded",
    });
  });

  it("keeps events that came before the create's answer, and names the prompt only once it is tracked", () => {
    const { t } = tracker();
    expect(t.apply(msg("execution_start", {}, "early"))).toBeNull();
    t.apply(msg("executing", { node: "6" }, "early"));
    expect(t.apply(msg("execution_success", {}, "early"))).toBeNull();
    t.track("early");
    expect(t.view("early")).toMatchObject({ started: true, ended: { kind: "success" } });
    expect(t.apply(msg("executing", { node: null }, "early"))).toBe("early");
  });

  it("ignores what names no prompt (status, a reconnect's bare executing) and what is not an event", () => {
    const { t } = tracker();
    for (const m of [
      msg("status", { status: { exec_info: { queue_remaining: 2 } }, sid: "x" }, null),
      msg("executing", { node: "7" }, null),
      null,
      "text",
      42,
      [],
      { type: 7, data: { prompt_id: "p1" } },
      { type: "progress", data: "nope" },
      { type: "progress", data: { prompt_id: 12 } },
    ])
      expect(t.apply(m)).toBeNull();
    expect(t.size).toBe(0);
  });

  it("counts waiting prompts (tracked, not ended) and forgets a prompt whose task ended", () => {
    const { t } = tracker();
    t.track("a");
    t.track("b");
    t.apply(msg("execution_start", {}, "stranger"));
    expect(t.waiting()).toBe(2);
    t.apply(msg("execution_success", {}, "a"));
    expect(t.waiting()).toBe(1);
    t.forget("a");
    t.forget("b");
    expect(t.view("a")).toBeNull();
    expect(t.waiting()).toBe(0);
  });
});

describe("comfyui /ws memory bounds", () => {
  it("keeps at most maxEntries, dropping the oldest first", () => {
    const { t } = tracker({ maxEntries: 3 });
    for (const id of ["a", "b", "c", "d", "e"]) t.track(id);
    expect(t.size).toBe(3);
    expect(t.view("a")).toBeNull();
    expect(t.view("b")).toBeNull();
    expect(t.view("e")).not.toBeNull();
    // Events for unknown prompts (forged, or another client's) cannot grow it either.
    for (let i = 0; i < 100; i++) t.apply(msg("execution_start", {}, `x${i}`));
    expect(t.size).toBe(3);
  });

  it("drops tracked prompts unseen (no event, no poll) for idleMs, and untracked ones after earlyMs", () => {
    const { t, clock } = tracker({ idleMs: 3_600_000, earlyMs: 60_000 });
    t.track("polled");
    t.track("forgotten");
    t.apply(msg("execution_start", {}, "untracked"));
    clock.t += 61_000;
    t.track("next"); // prunes (at most once a minute)
    expect(t.view("untracked")).toBeNull();
    expect(t.size).toBe(3);
    for (let i = 0; i < 60; i++) {
      clock.t += 61_000;
      t.view("polled"); // a poll counts as seen
      t.apply(msg("progress", { node: "7", value: i, max: 60 }, "next"));
    }
    t.track("last");
    expect(t.view("forgotten")).toBeNull();
    expect(t.view("polled")).not.toBeNull();
    expect(t.view("next")).not.toBeNull();
  });
});
