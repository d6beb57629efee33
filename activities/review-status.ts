/** review-status: one look at the Marketplace app's review (the workflow waits between looks). */
import type { ActivityDeps } from './runtime/deps';
import type { AppStatus } from '../contract/publish';

export function reviewStatus(deps: ActivityDeps) {
  return async (input: { appId: string }): Promise<AppStatus> => deps.vendor.status(input.appId);
}
