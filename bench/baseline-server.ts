/**
 * The HTTP benchmark's baseline: a bare node:http server answering every request with one fixed
 * JSON body (the bench passes Reelay's own responses, so both send the same bytes): under
 * `/v1/videos/` Reelay's `GET /v1/videos/{id}` answer, elsewhere its `GET /v1/video/query` answer.
 * What Reelay costs per request is its ratio to this. Env: PORT, BASELINE_BODY, BASELINE_VIDEOS_BODY.
 */
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? "0");
const body = Buffer.from(process.env.BASELINE_BODY ?? '{"status":"ok"}');
const videosBody = Buffer.from(process.env.BASELINE_VIDEOS_BODY ?? '{"status":"ok"}');

const server = createServer((req, res) => {
  // Drain the request like a real handler would before answering.
  req.resume();
  const b = req.url?.startsWith("/v1/videos/") ? videosBody : body;
  res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": b.length });
  res.end(b);
});
server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
