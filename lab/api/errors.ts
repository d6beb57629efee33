/** DigitalOcean's error body: `{id, message, request_id}`; handlers throw ApiError, the server renders it. */

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    /** DigitalOcean's error id, e.g. "not_found". */
    readonly id: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const PENDING_EVENT = 'Droplet already has a pending event.';

export function unauthorized(): ApiError {
  return new ApiError(401, 'unauthorized', 'Unable to authenticate you');
}

export function notFound(): ApiError {
  return new ApiError(404, 'not_found', 'The resource you were accessing could not be found.');
}

export function forbidden(message: string): ApiError {
  return new ApiError(403, 'forbidden', message);
}

/** A removed endpoint: 410 `gone`, or 404 `not_found`, with a message naming its replacement. */
export function gone(message: string, status: 404 | 410 = 410): ApiError {
  return new ApiError(status, status === 410 ? 'gone' : 'not_found', message);
}

export function unprocessable(message: string): ApiError {
  return new ApiError(422, 'unprocessable_entity', message);
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'bad_request', message);
}

export function methodNotAllowed(allowed: string[]): ApiError {
  return new ApiError(405, 'method_not_allowed', 'Method not allowed', { allow: allowed.join(', ') });
}

export function tooManyRequests(retryAfterSeconds: number): ApiError {
  return new ApiError(429, 'too_many_requests', 'API Rate limit exceeded.', {
    'retry-after': String(retryAfterSeconds),
  });
}

export function serverError(status = 500): ApiError {
  return new ApiError(status, 'server_error', 'Unexpected server-side error');
}
