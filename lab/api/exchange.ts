/** One request and its response as the lab saw them, and what a contract check found wrong in it. */
export interface Exchange {
  method: string;
  path: string;
  /** Raw query string without '?'. */
  query: string;
  requestHeaders: Record<string, string | string[]>;
  requestBody: unknown;
  status: number;
  responseHeaders: Record<string, string>;
  /** Parsed JSON body, or undefined for an empty one. */
  responseBody: unknown;
}

export interface ContractViolation {
  direction: 'request' | 'response';
  method: string;
  path: string;
  status: number;
  operationId?: string;
  errors: string[];
}
