/**
 * Records what every Reelay app answers, for the check that openapi.json declares it (see
 * test/global-answers.ts). Loaded with `node --import` (NODE_OPTIONS, set by the global setup) into
 * the test workers and the processes they spawn, so the app itself carries no test hook: Fastify
 * announces each new instance on a diagnostics channel, and this adds an onResponse hook to it;
 * the task polls answered beside the router announce theirs on a channel of their own.
 * Plain JavaScript: spawned `node dist/…` processes load it without a TypeScript loader.
 */
import { subscribe } from "node:diagnostics_channel";
import { appendFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.REELAY_ANSWER_LOG;
if (dir && !globalThis.__reelayAnswerRecorder) {
  globalThis.__reelayAnswerRecorder = true;
  const file = join(dir, `${process.pid}.jsonl`);
  const seen = new Set();
  const record = (method, route, status) => {
    const line = JSON.stringify({ method, route, status });
    if (!seen.has(line)) {
      seen.add(line);
      appendFileSync(file, `${line}\n`);
    }
  };
  subscribe("fastify.initialization", ({ fastify }) => {
    fastify.addHook("onResponse", (req, reply, done) => {
      const route = req.routeOptions.url;
      // Only Reelay's HTTP app (it lists its routes), not the ops app or another server.
      if (route !== undefined && reply.server.hasDecorator("reelayRoutes"))
        record(req.method, route, reply.statusCode);
      done();
    });
  });
  // The task polls Reelay answers beside its router (src/http/hot_reads.ts) announce each answer.
  subscribe("reelay.hot-read.answered", ({ method, route, status }) => record(method, route, status));
}
