/**
 * A CPU slice for benchmark processes (Linux cgroup v1 `cpu` controller, as on these machines):
 * what lets a 2-core machine measure how throughput grows with processes when each process has
 * cores of its own, by giving every measured process the same fixed slice of a core, well under
 * half the machine, so that n of them plus the load generator and the database still fit.
 * Needs write access to /sys/fs/cgroup/cpu (root); `cpuSlice` answers null where it has none, and
 * the benchmark then says that the processes ran unlimited. The slice is both a cap (quota) and,
 * on a machine other jobs also load, a reservation (shares): its processes get it and no more.
 */
import { randomBytes } from "node:crypto";
import { rmdirSync, writeFileSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";

const ROOT = "/sys/fs/cgroup/cpu";
const PERIOD_US = 100_000;
/** The weight of 8 busy threads of nice 0 (1024 each). */
const SHARES = 8192;

/**
 * Groups not yet removed: a benchmark removes its group in `finally`; this is the backstop for a
 * crash before that, so no empty group (or a process of ours still reserved) outlives the run.
 */
const open = new Map<string, number[]>();
process.once("exit", () => {
  for (const [dir, pids] of open) {
    for (const pid of pids) {
      try {
        writeFileSync(`${ROOT}/cgroup.procs`, String(pid));
      } catch {}
    }
    try {
      rmdirSync(dir);
    } catch {}
  }
});

export interface CpuSlice {
  /** The cores the group's processes may use together. */
  readonly cores: number;
  /** Moves a process (and the children it starts from now on) into the group. */
  add(pid: number): Promise<void>;
  /** Moves what is left back to the root group and removes the group. */
  remove(): Promise<void>;
  /** Periods so far in which the group used its whole quota, and the time its threads waited for the next. */
  throttling(): Promise<{ periods: number; throttled: number; throttledS: number }>;
}

/** A fresh cgroup whose processes together get `cores`; null when cgroups cannot be written here. */
export async function cpuSlice(cores: number): Promise<CpuSlice | null> {
  const dir = `${ROOT}/reelay-bench-${randomBytes(4).toString("hex")}`;
  try {
    await mkdir(dir);
  } catch {
    return null;
  }
  const pids: number[] = [];
  open.set(dir, pids);
  const slice: CpuSlice = {
    cores,
    async add(pid) {
      await writeFile(`${dir}/cgroup.procs`, String(pid));
      pids.push(pid);
    },
    async throttling() {
      const stat = await readFile(`${dir}/cpu.stat`, "utf8");
      const field = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(stat)?.[1] ?? 0);
      return {
        periods: field("nr_periods"),
        throttled: field("nr_throttled"),
        throttledS: field("throttled_time") / 1e9,
      };
    },
    async remove() {
      for (const pid of pids) await writeFile(`${ROOT}/cgroup.procs`, String(pid)).catch(() => undefined);
      await rmdir(dir).catch(() => undefined);
      open.delete(dir);
    },
  };
  try {
    await writeFile(`${dir}/cpu.cfs_period_us`, String(PERIOD_US));
    await writeFile(`${dir}/cpu.cfs_quota_us`, String(Math.round(cores * PERIOD_US)));
    // The quota caps each 100 ms period: processes that wait on I/O and then all run at once (4
    // workers' ffmpeg runs starting together) would be throttled in bursts while using well under
    // their slice on average. Quota left unused may be spent in a later period, up to one period's
    // quota (the kernel's limit), where the kernel has burst (5.14+).
    await writeFile(`${dir}/cpu.cfs_burst_us`, String(Math.round(cores * PERIOD_US))).catch(() => undefined);
    // A quota only caps. On a machine shared with other jobs the group would get no more than
    // one busy thread's share (1024) of the cores, less than its quota: SHARES lets it have its
    // slice whatever else runs, and the quota keeps it from taking more.
    await writeFile(`${dir}/cpu.shares`, String(SHARES));
  } catch {
    await slice.remove();
    return null;
  }
  return slice;
}

/** Puts one process in a slice of its own; null when cgroups cannot be written here. */
export async function limitCpu(pid: number, cores: number): Promise<CpuSlice | null> {
  const slice = await cpuSlice(cores);
  try {
    await slice?.add(pid);
  } catch {
    await slice?.remove();
    return null;
  }
  return slice;
}
