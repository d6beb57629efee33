/**
 * DigitalOcean's Vendor API (Marketplace listings). Documented: `PATCH …/apps/{id}` with the new
 * image, answering the app (200), 400 (image id missing; not a droplet 1-click; pending or in
 * review), 403 (token, or app or image not the team's) and 404 (unknown app). Not documented: any
 * read. DigitalOcean's own tools read the team's app list (`GET …/apps`); a single-app GET may not
 * exist. So `status` tries the list, then the single app, and says "unknown" when neither works.
 * The token is the worker's; messages carry the status and DigitalOcean's message only.
 */
import type { AppStatus, VendorUpdateBody } from '../contract/marketplace';
import { isUnderReview } from '../contract/marketplace';
import { statusLabel, vendorRequests } from './metrics';

export const VENDOR_API = 'https://api.digitalocean.com/api/v1/vendor-portal';

/** busy: pending or in review (clears by waiting); permanent: fix something first; transient: ask again. */
export type VendorErrorKind = 'busy' | 'permanent' | 'transient';

export class VendorApiError extends Error {
  override name = 'VendorApiError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly kind: VendorErrorKind,
  ) {
    super(message);
  }

  get permanent(): boolean {
    return this.kind === 'permanent';
  }
}

/** DigitalOcean's 400 for an app whose update or review is still running (its wording, or ours in the lab). */
const BUSY_400 = /pending|in.?review|under review/i;

interface AppBody {
  appId?: string;
  id?: string;
  version?: number;
  status?: { value?: string; lastUpdated?: number | string; reason?: string } | string;
  customData?: { imageId?: number | null };
  currentVersion?: { customData?: { imageId?: number | null } } | null;
  unpublishedVersion?: { customData?: { imageId?: number | null } } | null;
}

export class VendorApi {
  constructor(
    private readonly endpoint: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {}

  /** PATCH the app; throws VendorApiError (kind busy for a 400 about a pending or reviewed app). */
  async update(appId: string, body: VendorUpdateBody): Promise<AppStatus> {
    const what = `update Marketplace app ${appId}`;
    const data = await this.request('PATCH', `/apps/${encodeURIComponent(appId)}`, what, body);
    const status = appStatus(unwrap(data));
    if (!status) throw new VendorApiError(`${what}: the answer has no status`, 200, 'transient');
    return status;
  }

  /**
   * The app's status, or undefined when no read works (neither the app list nor a single-app
   * GET is served): the caller says "review status unknown". Transient failures throw.
   */
  async status(appId: string): Promise<AppStatus | undefined> {
    const what = `read Marketplace app ${appId}`;
    try {
      const data = await this.request('GET', '/apps', what);
      const list = Array.isArray(data) ? data : ((data as { apps?: unknown[] } | undefined)?.apps ?? []);
      const app = (list as AppBody[]).find((a) => (a.appId ?? a.id) === appId);
      if (app) return appStatus(app);
    } catch (err) {
      if (!notServed(err)) throw err;
    }
    try {
      return appStatus(unwrap(await this.request('GET', `/apps/${encodeURIComponent(appId)}`, what)));
    } catch (err) {
      if (notServed(err)) return undefined;
      throw err;
    }
  }

  private async request(method: string, path: string, what: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.endpoint}${path}`, {
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
      vendorRequests.inc({ status: statusLabel(undefined) });
      throw new VendorApiError(`${what}: Vendor API unreachable (${code})`, undefined, 'transient');
    }
    vendorRequests.inc({ status: statusLabel(res.status) });
    const text = await res.text();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
    if (res.ok) return data;
    const msg =
      data && typeof data === 'object' && 'message' in data
        ? String((data as { message: unknown }).message)
        : 'no error message';
    throw new VendorApiError(
      `${what}: HTTP ${res.status} ${msg}${hint(res.status, msg)}`,
      res.status,
      kindOf(res.status, msg),
    );
  }
}

function kindOf(status: number, message: string): VendorErrorKind {
  if (status === 400) return BUSY_400.test(message) ? 'busy' : 'permanent';
  if (status === 401 || status === 403 || status === 404 || status === 405 || status === 410 || status === 422) {
    return 'permanent';
  }
  return 'transient';
}

function hint(status: number, message: string): string {
  if (status === 401) return " (check the worker's DIGITALOCEAN_VENDOR_TOKEN or DIGITALOCEAN_TOKEN)";
  if (status === 403) {
    return (
      " (the worker's DIGITALOCEAN_VENDOR_TOKEN, or DIGITALOCEAN_TOKEN, must be a write token of the team that owns" +
      " the listing, and the snapshot must be in that team's account)"
    );
  }
  if (status === 404) return " (check marketplace.appId: it is in the app's Vendor Portal URL)";
  if (status === 400 && /image ?id/i.test(message)) return ' (the update carried no image id: report this as a bug)';
  if (status === 400 && /1-click|droplet/i.test(message)) {
    return ' (marketplace.appId must name a droplet 1-click app: check the id in the Vendor Portal)';
  }
  return '';
}

/** A read this API does not serve: the list or the single app answering 404, 405 or 410. */
function notServed(err: unknown): boolean {
  return err instanceof VendorApiError && (err.status === 404 || err.status === 405 || err.status === 410);
}

function unwrap(data: unknown): AppBody | undefined {
  const d = data as { app?: AppBody } | AppBody | undefined;
  return d && typeof d === 'object' && 'app' in d && d.app ? d.app : (d as AppBody | undefined);
}

function appStatus(app: AppBody | undefined): AppStatus | undefined {
  const s = app?.status;
  const value = typeof s === 'string' ? s : s?.value;
  if (!app || !value) return undefined;
  const obj = typeof s === 'object' ? s : undefined;
  const ids = [
    app.unpublishedVersion?.customData?.imageId,
    app.currentVersion?.customData?.imageId,
    app.customData?.imageId,
  ];
  const imageIds = [...new Set(ids.filter((i): i is number => typeof i === 'number'))];
  // The image under review is the unpublished version's; without versions, the app's own.
  const underReview = isUnderReview(value) ? app.unpublishedVersion?.customData?.imageId : undefined;
  const imageId = typeof underReview === 'number' ? underReview : imageIds[0];
  return {
    value,
    ...(isoTime(obj?.lastUpdated) ? { lastUpdated: isoTime(obj?.lastUpdated)! } : {}),
    ...(obj?.reason ? { reason: obj.reason } : {}),
    ...(imageId !== undefined ? { imageId } : {}),
    ...(imageIds.length > 0 ? { imageIds } : {}),
    ...(typeof app.version === 'number' ? { version: app.version } : {}),
  };
}

/** Epoch milliseconds (documented) or an ISO string (seen in older answers) → ISO time. */
function isoTime(v: number | string | undefined): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const d = new Date(typeof v === 'number' || /^\d+$/.test(v) ? Number(v) : v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
