/**
 * The HTTP benchmark's baseline: a bare node:http server answering every request with one fixed
 * JSON body (the bench passes Reelay's own query response, so both send the same bytes). What
 * Reelay costs per request is its ratio to this. Env: PORT, BASELINE_BODY.
 */
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? "0");
const body = Buffer.from(process.env.BASELINE_BODY ?? '{"status":"ok"}');

const server = createServer((req, res) => {
  // Drain the request like a real handler would before answering.
  req.resume();
  res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": body.length });
  res.end(body);
});
server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
