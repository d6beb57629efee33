/**
 * publish: send the image to its Marketplace app with exactly the body the workflow built. A 400
 * for an app that is pending or in review is an answer, not a failure: the workflow waits on a
 * durable timer and tries again. Every other 400, 403 and 404 is final, with DigitalOcean's
 * message and a hint. Safe to run twice: an app already pending or in review with this image is
 * this update, taken.
 */
import type { ActivityDeps } from './runtime/deps';
import { rememberPublished } from './records/published';
import { VendorApiError } from '../platform/vendor-api';
import { isUnderReview } from '../contract/marketplace';
import type { PublishAttempt, PublishInput, VendorUpdateBody } from '../contract/marketplace';
import { check, checked, refuseIf } from './runtime/input-checks';
import { ownBuild } from './runtime/run-identity';
import { ownedImage } from './droplets/owned';

export function publish(deps: ActivityDeps) {
  return async (input: PublishInput): Promise<PublishAttempt> => {
    checked(check.appId, input.appId, 'appId');
    if (input.family !== undefined) checked(check.name, input.family, 'family');
    checked(check.imageId, input.imageId, 'imageId');
    ownBuild(input.buildId);
    const body = input.body ?? legacyBody(input);
    // Only this run's image goes to the Marketplace, whatever id the input names (the body's too).
    refuseIf(
      body.imageId === input.imageId
        ? []
        : [`body.imageId ${JSON.stringify(body.imageId)} is not the image this step publishes (${input.imageId})`],
    );
    await ownedImage(deps, input.imageId, 'imageId', 'use');
    // Remembered before sending: an image that may be in review must never be pruned.
    if (input.family) await rememberPublished(deps, input.family, input.imageId);
    try {
      return { kind: 'submitted', status: await deps.vendor.update(input.appId, body) };
    } catch (err) {
      // Other failures (permanent: final; transient: retried) are sorted by toFailure like every API error.
      if (!(err instanceof VendorApiError) || err.kind !== 'busy') throw err;
      // A crash after an accepted PATCH leaves the app pending with our image: that was us.
      const now = await deps.vendor.status(input.appId);
      if (now && now.imageId === input.imageId && isUnderReview(now.value)) return { kind: 'submitted', status: now };
      return { kind: 'busy', message: err.message };
    }
  };
}

/** A publish scheduled by a build started before the documented contract: never send "" or []. */
function legacyBody(input: PublishInput): VendorUpdateBody {
  return {
    imageId: input.imageId,
    ...(input.version ? { version: input.version } : {}),
    ...(input.reasonForUpdate ? { reasonForUpdate: input.reasonForUpdate } : {}),
    ...(input.osVersion ? { osVersion: input.osVersion } : {}),
    ...(input.softwareIncluded?.length ? { softwareIncluded: input.softwareIncluded } : {}),
  };
}
