import { z } from 'zod';

/**
 * The body of a partial update (PATCH) made from a create schema: every field optional and no
 * field defaulted. Zod 4 applies a field's `.default()` even under `.partial()` or `.optional()`,
 * so `Schema.partial()` turns `{ imageUrl }` into `{ imageUrl, kind: 'article' }` and a change of
 * one field silently resets (or trips a rule on) another. Defaults belong to creation only.
 */
type WithoutDefault<T> =
  T extends z.ZodDefault<infer Inner>
    ? WithoutDefault<Inner>
    : T extends z.ZodPrefault<infer Inner>
      ? WithoutDefault<Inner>
      : T extends z.ZodOptional<infer Inner>
        ? WithoutDefault<Inner>
        : T;

export type PatchShape<S extends z.ZodRawShape> = { [K in keyof S]: z.ZodOptional<WithoutDefault<S[K]>> };

export function patchSchema<S extends z.ZodRawShape>(schema: z.ZodObject<S>): z.ZodObject<PatchShape<S>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    const bare = withoutDefault(field as z.ZodType);
    shape[key] = bare instanceof z.ZodOptional ? bare : bare.optional();
  }
  return z.object(shape) as unknown as z.ZodObject<PatchShape<S>>;
}

/** The field with every default taken off; an optional field without one stays as it is. */
function withoutDefault(field: z.ZodType): z.ZodType {
  if (field instanceof z.ZodDefault || field instanceof z.ZodPrefault)
    return withoutDefault(field.unwrap() as z.ZodType);
  if (field instanceof z.ZodOptional) {
    const inner = field.unwrap() as z.ZodType;
    const bare = withoutDefault(inner);
    return bare === inner ? field : bare.optional();
  }
  return field;
}
