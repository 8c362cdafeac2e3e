/** The shape of one documented operation, shared by the route tables. */
import { z } from "zod";

export type Auth = "key" | "admin" | "none" | "signed";
export interface Op {
  method: "get" | "post" | "delete";
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  /** JSON body schema (validated by the route). */
  body?: z.ZodType;
  /** Also accepted as multipart/form-data (bracketed names for nested fields). */
  multipart?: z.ZodType;
  query?: Record<string, { schema: z.ZodType; required?: boolean; description: string }>;
  pathParams?: string[];
  ok: { status: number; schema?: z.ZodType; contentType?: string; description: string };
  errors: number[];
}

export const idParam = ["id"];

export const file = z.string().meta({ format: "binary" });
