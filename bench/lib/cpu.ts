/**
 * CPU accounting for the benchmarks that run several processes on this machine's few cores: how
 * busy the whole machine was over a window (from /proc/stat), and the CPU seconds one process and
 * the children it has reaped (ffmpeg runs) used (from /proc/<pid>/stat). Linux only.
 */
import { readFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on every Linux Node supports). */
const HZ = 100;

export interface MachineSample {
  readonly busy: number;
  readonly total: number;
}

/** The machine's CPU counters now (all cores summed, in ticks). */
export async function machineSample(): Promise<MachineSample> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0] ?? "";
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest times are already in user).
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Cores kept busy between two samples (0 … the machine's core count). */
export const coresBusy = (a: MachineSample, b: MachineSample): number =>
  b.total === a.total ? 0 : ((b.busy - a.busy) / (b.total - a.total)) * cpus().length;

/**
 * CPU seconds a process has used so far, its reaped children included (utime + stime + cutime +
 * cstime); 0 once it has gone.
 */
export async function processCpuS(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (stat === null) return 0;
  // Fields after the command name, which is in parentheses and may hold spaces.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime is field 14 of the whole line: index 11 here (the line's 3rd field is f[0]).
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i] ?? 0), 0);
  return ticks / HZ;
}

/**
 * The machine's 1-minute load average now: on a shared machine, other jobs' load slows every
 * process here, so the results record it beside the figures.
 */
export const loadAverage = (): number => Number(loadavg()[0]?.toFixed(2) ?? 0);
