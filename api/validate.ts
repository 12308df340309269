import type { z } from 'zod';

/** Validation at the edge: the handler receives typed data or the request fails with 400. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  return schema.parse(value);
}
