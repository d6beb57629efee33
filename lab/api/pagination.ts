/** DigitalOcean's list pages: `page`/`per_page` (max 200), `links.pages` with absolute URLs, `meta.total`. */
import type { LabRequest } from './http';

export interface Page<T> {
  items: T[];
  links: { pages?: { first?: string; prev?: string; next?: string; last?: string } };
  meta: { total: number };
}

const DEFAULT_PER_PAGE = 20;
const MAX_PER_PAGE = 200;

export function paginate<T>(req: LabRequest, all: T[]): Page<T> {
  const perPage = Math.min(MAX_PER_PAGE, positiveInt(req.query.get('per_page')) ?? DEFAULT_PER_PAGE);
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));
  const page = positiveInt(req.query.get('page')) ?? 1;
  const items = all.slice((page - 1) * perPage, page * perPage);
  const link = (p: number) => {
    const q = new URLSearchParams(req.query);
    q.set('page', String(p));
    q.set('per_page', String(perPage));
    return `${req.origin}${req.path}?${q.toString()}`;
  };
  const pages: NonNullable<Page<T>['links']['pages']> = {};
  if (page > 1) {
    pages.first = link(1);
    pages.prev = link(Math.min(page - 1, lastPage));
  }
  if (page < lastPage) {
    pages.next = link(page + 1);
    pages.last = link(lastPage);
  }
  return { items, links: Object.keys(pages).length > 0 ? { pages } : {}, meta: { total: all.length } };
}

function positiveInt(v: string | null): number | undefined {
  if (v === null || !/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= 1 ? n : undefined;
}
