/**
 * A CPU quota for one benchmark process (Linux cgroup v1 `cpu` controller, as on these machines):
 * what lets a 2-core machine measure how throughput grows with processes when each process has
 * cores of its own, by giving every measured process the same fixed slice of a core, well under
 * half the machine, so that n of them plus the load generator and the database still fit.
 * Needs write access to /sys/fs/cgroup/cpu (root); `limitCpu` answers null where it has none, and
 * the benchmark then says that the processes ran unlimited.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rmdir, writeFile } from "node:fs/promises";

const ROOT = "/sys/fs/cgroup/cpu";
const PERIOD_US = 100_000;

export interface CpuLimit {
  /** The slice of one core the process may use. */
  readonly cores: number;
  /** Removes the group (once its process has exited; a live one is moved back to the root group first). */
  remove(): Promise<void>;
}

/** Puts `pid` in a fresh cgroup with a quota of `cores` of one core; null when cgroups cannot be written here. */
export async function limitCpu(pid: number, cores: number): Promise<CpuLimit | null> {
  const dir = `${ROOT}/reelay-bench-${randomBytes(4).toString("hex")}`;
  try {
    await mkdir(dir);
  } catch {
    return null;
  }
  try {
    await writeFile(`${dir}/cpu.cfs_period_us`, String(PERIOD_US));
    await writeFile(`${dir}/cpu.cfs_quota_us`, String(Math.round(cores * PERIOD_US)));
    await writeFile(`${dir}/cgroup.procs`, String(pid));
  } catch {
    await rmdir(dir).catch(() => undefined);
    return null;
  }
  return {
    cores,
    async remove() {
      await writeFile(`${ROOT}/cgroup.procs`, String(pid)).catch(() => undefined);
      await rmdir(dir).catch(() => undefined);
    },
  };
}
