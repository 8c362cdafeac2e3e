/** Small helpers every filtergraph builder of the local renderer shares. */
import { isAbsolute } from "node:path";

/** Relative names could be read by ffmpeg as a protocol (`name:…`); absolute ones never are. */
export function requireAbsolute(paths: readonly string[]): void {
  for (const p of paths) {
    if (!isAbsolute(p)) throw new Error(`ffmpeg arguments need absolute paths, got '${p}'`);
  }
}

/**
 * Escapes a value for an ffmpeg filtergraph option: once for the option parser (`\ ' :`), then for the
 * graph parser (`\ ' [ ] , ;`), so any path or expression arrives intact.
 */
export function esc(value: string): string {
  const forOption = value.replace(/[\\':]/g, (c) => `\\${c}`);
  return forOption.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}

export const even = (v: number): number => 2 * Math.ceil(v / 2);

/** Numbers as ffmpeg reads them: no exponent, at most millisecond precision. */
export const num = (v: number): string => String(Number(v.toFixed(3)));
