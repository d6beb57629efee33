/** The request and response shapes handlers see: parsed once by the server, rendered once by it. */
import type { IncomingMessage } from 'node:http';
import { badRequest } from './errors';

export interface LabRequest {
  method: string;
  /** Path without the query string, e.g. /v2/droplets/12. */
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body (undefined when there was none). */
  body: unknown;
  /** Route parameters, e.g. { id: "12" } for /v2/droplets/:id. */
  params: Record<string, string>;
  requestId: string;
  /** The team of the request's token (API requests; '' for /_lab). */
  team: string;
  /** Scheme, host and port the client used: pagination links point back at it. */
  origin: string;
}

export interface LabResponse {
  status: number;
  /** Sent as JSON; absent for 204. */
  body?: unknown;
  /** Sent verbatim instead of body (e.g. an HTML error page). */
  text?: { contentType: string; content: string };
  headers?: Record<string, string>;
}

export type Handler = (req: LabRequest) => LabResponse | Promise<LabResponse>;

const MAX_BODY = 1024 * 1024;

/** Reads and parses a JSON body; an empty body is undefined. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw badRequest('request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest('request body is not valid JSON');
  }
}

export function json(status: number, body?: unknown): LabResponse {
  return body === undefined ? { status } : { status, body };
}

export const noContent: LabResponse = { status: 204 };
