/**
 * Reelay's processes. `all` (the default, `npm start`): the API, the web UI and the worker in one
 * process. With a shared database (REELAY_DATABASE_URL) the roles can run apart, as many of each
 * as needed: `serve` (API + UI, no worker) and `worker` (jobs only, see main/worker.ts).
 */

import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { DatabaseUnavailableError } from "../adapters/sql/postgres/unavailable.js";
import { DataDirLockedError } from "../adapters/sql/sqlite/db.js";
import { buildApp, buildOpsApp, closeServer } from "../http/app.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { buildContainer } from "./container.js";
import { isEntryPoint } from "./entry.js";
import { batchedStdout } from "./log_destination.js";

export type Role = "serve" | "worker" | "all";

const portOf = (app: FastifyInstance): number => (app.server.address() as AddressInfo).port;
export const ROLES: readonly Role[] = ["serve", "worker", "all"];

/** The HTTP port cannot be had: in use by another process, or privileged. */
export class PortUnavailableError extends Error {
  constructor(port: number, host: string, variable: string, code: "EADDRINUSE" | "EACCES") {
    super(
      code === "EADDRINUSE"
        ? `port ${port} on ${host} is already in use by another process: stop it, or set ${variable} to a free port`
        : `port ${port} on ${host} needs privileges this process does not have: set ${variable} to a port above 1023`,
    );
  }
}

export async function serve(config: Config, role: Role = "all"): Promise<() => Promise<void>> {
  const logger = pino(
    {
      level: config.logLevel,
      redact: ["req.headers.authorization", "headers.authorization"],
      // No hostname in every line (a log shipper knows the host); the pid tells processes apart.
      base: { pid: process.pid },
    },
    // Batched per event-loop turn, written asynchronously: see log_destination.ts.
    batchedStdout(),
  );
  const container = await buildContainer(config, logger, { runsWorker: role !== "serve", role });
  if (container.adminTokenFile && role !== "worker") {
    logger.info(
      { adminTokenFile: container.adminTokenFile },
      `admin token is in ${container.adminTokenFile}; make an API key with: ` +
        `curl -X POST ${config.publicUrl}/admin/keys -H "Authorization: Bearer $(cat ${container.adminTokenFile})"`,
    );
  }
  const app =
    role !== "worker"
      ? buildApp(container.services, { logger, requestTimeoutMs: config.requestTimeoutMs })
      : config.workerPort !== undefined
        ? buildOpsApp(container.services, { logger })
        : null;
  if (app) {
    const port = role === "worker" ? (config.workerPort ?? 0) : config.port;
    try {
      await app.listen({ port, host: config.host });
    } catch (e) {
      await container.close();
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE" || code === "EACCES") {
        throw new PortUnavailableError(
          port,
          config.host,
          role === "worker" ? "REELAY_WORKER_PORT" : "PORT",
          code,
        );
      }
      throw e;
    }
  }
  if (role !== "serve") {
    container.worker.start();
    container.webhookRunner.start();
  }
  logger.info(
    {
      role,
      backend: config.database ? "postgres" : "sqlite",
      storage: config.storage.kind,
      dataDir: config.dataDir,
      concurrency: role === "serve" ? 0 : config.engine.concurrency,
      ...(role === "worker" && app ? { opsUrl: `http://${config.host}:${portOf(app)}` } : {}),
    },
    "reelay is ready",
  );
  return async () => {
    // The API stops taking requests first; the worker then hands back what it has not finished.
    // Open event streams end now (their clients resume elsewhere with Last-Event-ID) rather than
    // holding the shutdown for its whole grace.
    container.services.events.hub.close();
    if (app) await closeServer(app);
    await container.close();
  };
}

/** Runs one Reelay process until SIGTERM/SIGINT, then shuts it down gracefully. */
export async function runProcess(role: Role): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
    if (role !== "all" && !config.database) {
      throw new ConfigError(
        `reelay ${role} runs the ${role === "serve" ? "API" : "worker"} alone, which needs a shared database: set REELAY_DATABASE_URL (or run \`reelay all\`)`,
      );
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`reelay: ${e.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  let stop: () => Promise<void>;
  try {
    stop = await serve(config, role);
  } catch (e) {
    if (
      e instanceof DataDirLockedError ||
      e instanceof DatabaseUnavailableError ||
      e instanceof PortUnavailableError
    ) {
      console.error(`reelay: ${e.message}`);
      process.exit(75); // EX_TEMPFAIL: a supervisor may try again
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

if (isEntryPoint(import.meta.url)) {
  const role = process.argv[2] ?? "all";
  if (!ROLES.includes(role as Role)) {
    console.error(`reelay: unknown role '${role}' (one of: ${ROLES.join(", ")})`);
    process.exit(64); // EX_USAGE
  }
  runProcess(role as Role).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
