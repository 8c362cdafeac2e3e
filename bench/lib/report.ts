/**
 * What every benchmark hands back to `bench/run.ts`: rows of (figure, baseline, ratio, goal), and
 * the helpers that write `bench/results/<name>.json` and print the summary table.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";

export const RESULTS_DIR = join(import.meta.dirname, "..", "results");

/** A ratio's goal: `atLeast` for "Reelay keeps ≥ x of the baseline", `atMost` for "adds ≤ x". */
export type Goal = { readonly atLeast: number } | { readonly atMost: number };

export interface SummaryRow {
  readonly name: string;
  /** Reelay's figure, with its unit. */
  readonly figure: string;
  /** The baseline measured in the same run, with its unit. */
  readonly baseline: string;
  /** figure ÷ baseline. */
  readonly ratio: number;
  /** Null when the figure is reported without a goal. */
  readonly goal: Goal | null;
}

export const goalText = (g: Goal | null): string =>
  g === null ? "—" : "atLeast" in g ? `≥ ${g.atLeast}` : `≤ ${g.atMost}`;

/** Null when there is no goal to meet. */
export const goalMet = (ratio: number, g: Goal | null): boolean | null =>
  g === null ? null : "atLeast" in g ? ratio >= g.atLeast : ratio <= g.atMost;

export const machine = () => ({
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? "unknown",
  node: process.version,
});

/** Writes `bench/results/<name>.json` (with the time and machine) and returns its path. */
export async function writeResult(name: string, data: object): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  const body = { benchmark: name, at: new Date().toISOString(), machine: machine(), ...data };
  await writeFile(path, `${JSON.stringify(body, null, 2)}\n`);
  return path;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] ?? Number.NaN)
    : ((s[mid - 1] ?? Number.NaN) + (s[mid] ?? Number.NaN)) / 2;
};

/** 12345.6 → "12,346". */
export const int = (n: number): string => Math.round(n).toLocaleString("en-US");
export const ratio3 = (n: number): number => Number(n.toFixed(3));

/** A Markdown table: readable in a terminal and pasteable into the README as is. */
export function markdownTable(rows: readonly SummaryRow[]): string {
  const header = ["benchmark", "Reelay", "baseline (same run)", "ratio", "goal", "met?"];
  const lines = rows.map((r) => {
    const met = goalMet(r.ratio, r.goal);
    return [
      r.name,
      r.figure,
      r.baseline,
      r.ratio.toFixed(2),
      goalText(r.goal),
      met === null ? "—" : met ? "yes" : "NO",
    ];
  });
  const all = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...all.map((l) => (l[i] ?? "").length)));
  const row = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [row(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...lines.map(row)].join("\n");
}
