/** What every part of the composition root is built from. */
import type { Logger as PinoLogger } from "pino";
import type { Resolver } from "../../adapters/net/guard.js";
import type { VideoProvider, WatermarkRemover } from "../../core/media/ports.js";
import type { Clock } from "../../core/ports.js";
import type { Backends } from "../backends.js";
import type { Config } from "../config.js";

export interface ContainerOverrides {
  readonly clock?: Clock;
  /** Replaces the provider for every model. */
  readonly provider?: VideoProvider;
  /** Replaces the watermark remover. */
  readonly remover?: WatermarkRemover;
  /** False in an API-only process (`reelay serve`): new jobs are left to the worker processes. */
  readonly runsWorker?: boolean;
  /** This process's role (`reelay serve|worker|all`), as the dashboard lists processes. */
  readonly role?: string;
  /** Replaces the DNS resolver of webhook deliveries (SSRF tests). */
  readonly resolve?: Resolver;
}

export interface Wiring {
  readonly config: Config;
  readonly logger: PinoLogger;
  readonly clock: Clock;
  readonly overrides: ContainerOverrides;
  readonly backends: Backends;
}
