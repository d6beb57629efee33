/** review-status: one look at the Marketplace app's review (the workflow waits between looks); null when no read works. */
import type { ActivityDeps } from './runtime/deps';
import type { AppStatus } from '../contract/publish';

export function reviewStatus(deps: ActivityDeps) {
  return async (input: { appId: string }): Promise<AppStatus | null> => (await deps.vendor.status(input.appId)) ?? null;
}
