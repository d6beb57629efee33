/**
 * What the lab's self-check works on: one exchange (request and response) and what was found
 * wrong with it. Shared by the OpenAPI check (contract.ts) and the Vendor API check
 * (vendor-contract.ts), so that neither imports the other for its types.
 */

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
