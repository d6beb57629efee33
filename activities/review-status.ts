/** review-status: one look at the Marketplace app's review (the workflow waits between looks); null when no read works. */
import type { ActivityDeps } from './runtime/deps';
import type { AppStatus } from '../contract/marketplace';
import { check, checked } from './runtime/input-checks';

export function reviewStatus(deps: ActivityDeps) {
  return async (input: { appId: string }): Promise<AppStatus | null> => {
    const appId = checked(check.appId, input.appId, 'appId');
    return (await deps.vendor.status(appId)) ?? null;
  };
}
