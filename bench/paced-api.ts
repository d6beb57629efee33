/**
 * The baselines' DigitalOcean API client: every call of every hand-run build waits its turn on one
 * pacer (the worker's own, platform/request-pacer.ts, at the worker's default rate), so all of them
 * together stay under DigitalOcean's burst limit of 250 requests a minute per token, as the lab
 * enforces. A script that polled 20 droplets every second would be refused by DigitalOcean (1,200
 * a minute): the floor is what can be done within the limit, not beyond it.
 */
import { DoApi } from '../platform/digitalocean';
import { RequestPacer } from '../platform/request-pacer';
import { LAB_TOKEN } from '../tests/support/stack';

const pacer = new RequestPacer(240);

export function pacedApi(endpoint: string): DoApi {
  return new DoApi({ token: LAB_TOKEN, endpoint, pacer });
}
