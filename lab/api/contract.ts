/**
 * The lab's self-check: every request it receives and every response it sends, validated against
 * DigitalOcean's own OpenAPI document (openapi-backend in quick mode, as the spec's README says).
 * The 3 MB YAML takes about a second to load: done once per process, on first use.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import addFormats from 'ajv-formats';
import { OpenAPIBackend, type Document } from 'openapi-backend';
import { parse as parseYaml } from 'yaml';
import type { ContractViolation, Exchange } from './exchange';
import { checkVendorExchange, isVendorApiPath } from './vendor-contract';

export type { ContractViolation, Exchange } from './exchange';

const SPEC_FILE = 'digitalocean-public.v2.bundled.yaml';
/** Headers DigitalOcean documents on every response of the operations the lab serves. */
const RATE_LIMIT_HEADERS = ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'];

/** DIGITALOCEAN_OPENAPI_SPEC, else shared/digitalocean-openapi/ in or beside the repository. */
export function defaultSpecPath(): string {
  if (process.env.DIGITALOCEAN_OPENAPI_SPEC) return process.env.DIGITALOCEAN_OPENAPI_SPEC;
  // Compiled to dist/lab/api: the repository is three levels up.
  const repo = resolve(__dirname, '..', '..', '..');
  const candidates = [
    join(repo, 'shared', 'digitalocean-openapi', SPEC_FILE),
    join(repo, '..', 'shared', 'digitalocean-openapi', SPEC_FILE),
  ];
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

const loaded = new Map<string, Promise<OpenAPIBackend>>();

/** One validator per spec file per process. */
export function loadValidator(specPath = defaultSpecPath()): Promise<OpenAPIBackend> {
  let p = loaded.get(specPath);
  if (!p) {
    p = (async () => {
      const definition = parseYaml(await readFile(specPath, 'utf8')) as Document;
      const api = new OpenAPIBackend({
        definition,
        quick: true,
        validate: true,
        ajvOpts: { strict: false, unicodeRegExp: false, allErrors: true },
        customizeAjv: (ajv) => {
          addFormats(ajv);
          ajv.addFormat('uint32', {
            type: 'number',
            validate: (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff,
          });
          return ajv;
        },
      });
      await api.init();
      return api;
    })();
    loaded.set(specPath, p);
    p.catch(() => loaded.delete(specPath));
  }
  return p;
}

export class ContractChecker {
  private readonly found: ContractViolation[] = [];
  private pending = new Set<Promise<void>>();
  private checked = 0;
  private loadError: string | undefined;

  constructor(
    private readonly specPath = defaultSpecPath(),
    /** Told about each violation as it is found (e.g. to print it). */
    private readonly onViolation?: (v: ContractViolation) => void,
  ) {}

  /** Queues an exchange for checking; the response has already gone out, so this never slows it. */
  check(ex: Exchange): void {
    const p = this.checkNow(ex).then((v) => {
      this.checked++;
      this.found.push(...v);
      for (const x of v) this.onViolation?.(x);
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Every violation found so far, after the queued checks have finished. */
  async violations(): Promise<ContractViolation[]> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    return [...this.found];
  }

  async stats(): Promise<{ checked: number; violations: number; loadError?: string }> {
    const v = await this.violations();
    return { checked: this.checked, violations: v.length, ...(this.loadError ? { loadError: this.loadError } : {}) };
  }

  /** Validates one exchange and returns its violations (also used by tests to prove the check bites). */
  async checkNow(ex: Exchange): Promise<ContractViolation[]> {
    // The Vendor API is not in the OpenAPI document: its own (documented) schemas check it.
    if (isVendorApiPath(ex.path)) return checkVendorExchange(ex);
    let api: OpenAPIBackend;
    try {
      api = await loadValidator(this.specPath);
    } catch (err) {
      this.loadError = `cannot load the OpenAPI document ${this.specPath}: ${(err as Error).message}`;
      return [{ direction: 'response', method: ex.method, path: ex.path, status: ex.status, errors: [this.loadError] }];
    }
    const base = { method: ex.method, path: ex.path, status: ex.status };
    const request = {
      method: ex.method.toLowerCase(),
      path: ex.path,
      query: ex.query,
      headers: ex.requestHeaders,
      body: ex.requestBody,
    };
    const operation = api.router.matchOperation(request);
    if (!operation) {
      return [
        {
          direction: 'request',
          ...base,
          errors: [`${ex.method} ${ex.path} is not an operation of DigitalOcean's API`],
        },
      ];
    }
    const operationId = operation.operationId;
    const out: ContractViolation[] = [];
    const req = api.validator.validateRequest(request, operation);
    if (!req.valid) out.push({ direction: 'request', ...base, operationId, errors: describe(req.errors) });

    const errors: string[] = [];
    const documented = operation.responses ?? {};
    if (!(String(ex.status) in documented) && !('default' in documented)) {
      errors.push(`status ${ex.status} is not documented for ${operationId}`);
    }
    const res = api.validator.validateResponse(ex.status === 204 ? null : ex.responseBody, operation, ex.status);
    if (!res.valid) errors.push(...describe(res.errors));
    const headers = api.validator.validateResponseHeaders(ex.responseHeaders, operation, { statusCode: ex.status });
    if (!headers.valid) errors.push(...describe(headers.errors));
    for (const h of RATE_LIMIT_HEADERS) if (!(h in ex.responseHeaders)) errors.push(`response header ${h} is missing`);
    if (errors.length > 0) out.push({ direction: 'response', ...base, operationId, errors });
    return out;
  }
}

function describe(
  errors: Array<{ instancePath?: string; message?: string; params?: unknown }> | null | undefined,
): string[] {
  return (errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  );
}
