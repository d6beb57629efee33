/**
 * publish: send the image to its Marketplace app. A 400 (the app is pending or in review) is an
 * answer, not a failure: the workflow waits on a durable timer and tries again. A 404 is final.
 * Safe to run twice: an app already pending with this image id is this update, taken.
 */
import type { ActivityDeps } from './runtime/deps';
import { VendorApiError } from '../platform/vendor-api';
import type { PublishAttempt, PublishInput } from '../contract/publish';
import { check, checked } from './runtime/check-input';

export function publish(deps: ActivityDeps) {
  return async (input: PublishInput): Promise<PublishAttempt> => {
    checked(check.appId, input.appId, 'appId');
    try {
      const status = await deps.vendor.update(input.appId, {
        imageId: input.imageId,
        reasonForUpdate: input.reasonForUpdate,
        version: input.version,
        osVersion: input.osVersion,
        softwareIncluded: input.softwareIncluded,
      });
      return { kind: 'submitted', status };
    } catch (err) {
      // Other failures (404 final, 5xx retried) are sorted by toFailure like every API error.
      if (!(err instanceof VendorApiError) || err.status !== 400) throw err;
      // A crash after an accepted PATCH leaves the app pending with our image: that was us.
      const now = await deps.vendor.status(input.appId);
      if (now.imageId === input.imageId && (now.value === 'pending' || now.value === 'in review'))
        return { kind: 'submitted', status: now };
      return { kind: 'busy', message: err.message };
    }
  };
}
