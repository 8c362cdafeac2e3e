/**
 * Memory under the largest bodies an API key may send: a built Reelay (as `npm start` runs it,
 * with its heap cap; REELAY_WORKER_CONCURRENCY=0 so no render competes) takes 16 parallel
 * `POST /v1/video/create` whose bodies fill the 32 MiB limit with an inline image (a non-ASCII
 * prompt: V8's worst case). RSS is sampled every 100 ms; the figure is its peak ÷ the same
 * process's RSS idle before the load. The request body budget (src/http/body_budget.ts) admits
 * what fits and answers the rest 503 with Retry-After; any other 5xx or a cut connection fails
 * the benchmark. Run: `npx tsx bench/big-bodies.ts`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { type Answer, maximumCreateBody, postBody } from "../test/helpers/big-bodies.js";
import {
  buildReelay,
  createKey,
  type ReelayCommand,
  rssKiB,
  spawnReelay,
  waitUntilOk,
} from "./lib/processes.js";
import { type SummaryRow, writeResult } from "./lib/report.js";

const PARALLEL = 16;
const SAMPLE_MS = 100;
/** Time left to the process after start before its idle RSS is read. */
const SETTLE_MS = 2000;

/** Runs the load once, writes bench/results/big-bodies.json and returns the summary row. */
export async function runBigBodiesBench(opts: { reelay?: ReelayCommand } = {}): Promise<SummaryRow[]> {
  const cmd = opts.reelay ?? (await buildReelay());
  const scratch = await mkdtemp(join(tmpdir(), "reelay-bench-bodies-"));
  // Long enough that the request timeout never answers for the memory bound.
  const server = await spawnReelay(cmd, {
    REELAY_WORKER_CONCURRENCY: "0",
    REELAY_REQUEST_TIMEOUT_MS: "300000",
  });
  try {
    await waitUntilOk(server.child, `${server.url}/healthz`, 120_000);
    await sleep(SETTLE_MS);
    const idleKiB = await rssKiB(server.child.pid);
    const key = await createKey(server.url);
    const body = await maximumCreateBody(scratch);

    let peakKiB = idleKiB;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakKiB = Math.max(peakKiB, await rssKiB(server.child.pid));
        await sleep(SAMPLE_MS);
      }
    })();
    const started = performance.now();
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const answers: Answer[] = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        postBody(`${server.url}/v1/video/create`, { ...headers, "idempotency-key": `bench-${i}` }, body),
      ),
    );
    const loadMs = performance.now() - started;
    sampling = false;
    await sampler;

    const statuses: Record<string, number> = {};
    for (const a of answers) statuses[String(a.status)] = (statuses[String(a.status)] ?? 0) + 1;
    const bad = answers.filter((a) => a.status === 0 || (a.status >= 500 && a.status !== 503));
    if (bad.length > 0) throw new Error(`answers other than 2xx/4xx/503: ${JSON.stringify(statuses)}`);

    const row: SummaryRow = {
      name: `peak RSS, ${PARALLEL} parallel 32 MiB creates`,
      figure: mb(peakKiB),
      baseline: `${mb(idleKiB)} idle (same process)`,
      ratio: peakKiB / idleKiB,
      goal: null,
    };
    console.log(
      `  ${row.name}: ${row.figure} ÷ ${row.baseline} = ${row.ratio.toFixed(2)}; answers ${JSON.stringify(statuses)}`,
    );
    const path = await writeResult("big-bodies", {
      reelay: cmd.description,
      parallel: PARALLEL,
      body_bytes: body.length,
      idle_kib: idleKiB,
      peak_kib: peakKiB,
      ratio: Number((peakKiB / idleKiB).toFixed(3)),
      load_ms: Math.round(loadMs),
      statuses,
    });
    console.log(`  results written to ${path}`);
    return [row];
  } finally {
    await server.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

const mb = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runBigBodiesBench().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
