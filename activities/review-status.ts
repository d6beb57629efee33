/** review-status: one look at the Marketplace app's review (the workflow waits between looks). */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from './deps';
import { VendorApiError } from './vendor-api';
import type { AppStatus } from '../workflows/types';

export function reviewStatus(deps: ActivityDeps) {
  return async (input: { appId: string }): Promise<AppStatus> => {
    try {
      return await deps.vendor.status(input.appId);
    } catch (err) {
      if (err instanceof VendorApiError && (err.status === 404 || err.status === 401 || err.status === 403)) {
        throw ApplicationFailure.create({ message: err.message, type: 'PermanentApiError', nonRetryable: true });
      }
      throw err;
    }
  };
}
