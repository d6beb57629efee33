/** Request bodies checked with zod; the first problem becomes DigitalOcean's 422 message. */
import type { z } from 'zod';
import { unprocessable } from './errors';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw unprocessable(`${where}${issue?.message ?? 'invalid request body'}`);
}
