/** `npm start`: the API, the worker and (later) the web UI in one process. */
import { pathToFileURL } from "node:url";
import { pino } from "pino";
import { DataDirLockedError } from "../adapters/sqlite/db.js";
import { buildApp, closeServer } from "../http/app.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { buildContainer } from "./container.js";

export async function serve(config: Config): Promise<() => Promise<void>> {
  const logger = pino({
    level: config.logLevel,
    redact: ["req.headers.authorization", "headers.authorization"],
  });
  const container = await buildContainer(config, logger);
  if (container.adminTokenFile) {
    logger.info(
      { adminTokenFile: container.adminTokenFile },
      `admin token is in ${container.adminTokenFile}; make an API key with: ` +
        `curl -X POST ${config.publicUrl}/admin/keys -H "Authorization: Bearer $(cat ${container.adminTokenFile})"`,
    );
  }
  const app = buildApp(container.services, { logger, requestTimeoutMs: config.requestTimeoutMs });
  await app.listen({ port: config.port, host: config.host });
  container.worker.start();
  container.webhookRunner.start();
  logger.info({ dataDir: config.dataDir, concurrency: config.engine.concurrency }, "reelay is ready");
  return async () => {
    await closeServer(app);
    await container.close();
  };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`reelay: ${e.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  let stop: () => Promise<void>;
  try {
    stop = await serve(config);
  } catch (e) {
    if (e instanceof DataDirLockedError) {
      console.error(`reelay: ${e.message}`);
      process.exit(75); // EX_TEMPFAIL
    }
    throw e;
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`reelay: ${signal} received, shutting down`);
    stop().then(
      () => process.exit(0),
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
