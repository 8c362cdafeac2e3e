import { errors } from "../errors.js";

/**
 * Free text that is stored and shown back (prompts): valid Unicode without NUL. A lone UTF-16
 * surrogate makes every later JSON answer that carries it invalid for strict parsers, and
 * PostgreSQL refuses NUL in text.
 */
export function checkText(param: string, value: string): void {
  if (/\p{Cs}/u.test(value))
    throw errors.invalidField(param, `'${param}' contains a lone UTF-16 surrogate: it is not valid Unicode`);
  if (value.includes("\u0000"))
    throw errors.invalidField(param, `'${param}' contains a NUL character (U+0000)`);
}
