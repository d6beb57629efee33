/** Requests to the lab's control endpoints (/_lab/…), with the control token read from its 0600 file. */
import { readFileSync } from 'node:fs';
import type { LabServer } from '../../lab/api/server';

/** Authorization for /_lab/…, plus any other headers. */
export function controlHeaders(
  lab: Pick<LabServer, 'controlTokenFile'>,
  extra: Record<string, string> = {},
): Record<string, string> {
  const token = readFileSync(lab.controlTokenFile, 'utf8').trim();
  return { ...extra, authorization: `Bearer ${token}` };
}

/** fetch of a /_lab/… path with the control token. */
export function labControl(
  lab: Pick<LabServer, 'controlTokenFile' | 'origin'>,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<Response> {
  const json = init.body !== undefined;
  return fetch(`${lab.origin}${path}`, {
    method: init.method ?? 'GET',
    headers: controlHeaders(lab, json ? { 'content-type': 'application/json' } : {}),
    ...(json ? { body: JSON.stringify(init.body) } : {}),
  });
}
