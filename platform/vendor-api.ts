/**
 * DigitalOcean's Vendor API (Marketplace listings): update an app with a new image, and read its
 * review status. The token is the worker's; messages carry status and DigitalOcean's message only.
 */
import type { AppStatus } from '../contract/publish';

export const VENDOR_API = 'https://api.digitalocean.com/api/v1/vendor-portal';

export class VendorApiError extends Error {
  override name = 'VendorApiError';
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }

  /** Unknown app, bad token or refused body: asking again cannot help. */
  get permanent(): boolean {
    return this.status === 401 || this.status === 403 || this.status === 404 || this.status === 422;
  }
}

export interface AppUpdate {
  imageId: number;
  reasonForUpdate: string;
  version: string;
  osVersion: string;
  softwareIncluded: { name: string; version: string }[];
}

interface AppBody {
  status?: { value?: string; lastUpdated?: string; reason?: string };
  customData?: { imageId?: number };
}

export class VendorApi {
  constructor(
    private readonly endpoint: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {}

  /** PATCH the app; a VendorApiError with status 400 means pending or in review, 404 unknown app. */
  update(appId: string, body: AppUpdate): Promise<AppStatus> {
    return this.request('PATCH', appId, body);
  }

  status(appId: string): Promise<AppStatus> {
    return this.request('GET', appId);
  }

  private async request(method: string, appId: string, body?: unknown): Promise<AppStatus> {
    const what = `${method === 'GET' ? 'read' : 'update'} Marketplace app ${appId}`;
    let res: Response;
    try {
      res = await fetch(`${this.endpoint}/apps/${encodeURIComponent(appId)}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new VendorApiError(`${what}: Vendor API unreachable (${code})`, undefined);
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const msg =
        data && typeof data === 'object' && 'message' in data
          ? String((data as { message: unknown }).message)
          : 'no error message';
      const hint =
        res.status === 401
          ? " (check the worker's DIGITALOCEAN_VENDOR_TOKEN or DIGITALOCEAN_TOKEN)"
          : res.status === 404
            ? " (check marketplace.appId: it is in the app's Vendor Portal URL)"
            : '';
      throw new VendorApiError(`${what}: HTTP ${res.status} ${msg}${hint}`, res.status);
    }
    const app = ((data as { app?: AppBody } | undefined)?.app ?? data) as AppBody | undefined;
    const s = app?.status;
    if (!s?.value) throw new VendorApiError(`${what}: the answer has no status`, res.status);
    return {
      value: s.value,
      ...(s.lastUpdated ? { lastUpdated: s.lastUpdated } : {}),
      ...(s.reason ? { reason: s.reason } : {}),
      ...(typeof app?.customData?.imageId === 'number' ? { imageId: app.customData.imageId } : {}),
    };
  }
}
