/**
 * Fastify's own schema compilers (ajv to validate, fast-json-stringify to serialize), loaded the
 * first time a route declares a schema to compile. Reelay's routes validate with zod and declare
 * none, and the plugins it registers declare none either (@fastify/static and Swagger UI only
 * hide their routes), so a process normally never loads them: Fastify would otherwise require
 * them when it is created, ≈ 0.8 MiB of heap (ajv, ajv-formats, fast-uri, fast-json-stringify).
 */
import { createRequire } from "node:module";
import type { FastifyServerOptions } from "fastify";

type CompilerFactory = (...args: unknown[]) => unknown;

// Fastify's dependencies, resolved from where Fastify is installed, as Fastify itself resolves them.
const requireFromFastify = createRequire(import.meta.resolve("fastify"));

/** The factory `pkg` exports (called as Fastify calls it), made on the first call. */
function onFirstUse(pkg: string): CompilerFactory {
  let factory: CompilerFactory | undefined;
  return (...args) => {
    factory ??= (requireFromFastify(pkg) as () => CompilerFactory)();
    return factory(...args);
  };
}

/** The `schemaController` option of a Fastify instance: its default compilers, loaded on first use. */
export function schemaCompilersOnFirstUse(): NonNullable<FastifyServerOptions["schemaController"]> {
  return {
    compilersFactory: {
      buildValidator: onFirstUse("@fastify/ajv-compiler") as never,
      buildSerializer: onFirstUse("@fastify/fast-json-stringify-compiler") as never,
    },
  };
}
