/**
 * A DropletRef from a workflow input names a droplet, an address and a build: none of it is
 * trusted. Before a step acts on it, the droplet is read from DigitalOcean and must carry this
 * run's tag (or, made before runs were tagged, this build's tag with no run tag and no keep tag),
 * the address must be one of its own, and the host key to pin is chosen here, from the run.
 * The answer is kept per worker process: one API read per droplet and run, not per step.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../runtime/deps';
import { ownBuild, runIdentity as runIdentityOf, type RunIdentity } from '../runtime/run-identity';
import { FailureType } from '../../contract/failures';
import { KEEP_TAG, RUN_TAG_PREFIX, buildTag } from '../../contract/tags';
import type { DropletRef } from '../../contract/steps';
import { DoApiError } from '../../platform/digitalocean';

interface ListedDroplet {
  id: number;
  tags?: string[];
  networks?: { v4?: { ip_address: string }[] };
}

/** Per DoApi (one per worker; tests make several): `${runId}|${dropletId}|${ipv4}` → host key label. */
const known = new WeakMap<object, Map<string, string | undefined>>();
const KNOWN_MAX = 2000;

function refused(message: string): ApplicationFailure {
  return ApplicationFailure.create({
    message: `refused workflow input: ${message}`,
    type: FailureType.Spec,
    nonRetryable: true,
  });
}

/**
 * Whether a droplet is this run's: its run tag, or — a build started before run tags, still
 * waiting for an operator — its build tag alone. A kept (--base) droplet without a run tag is never
 * taken: a new run that reuses a finished base build's workflow id must not reach it.
 */
export function ownership(tags: readonly string[], me: RunIdentity): 'run' | 'legacy' | undefined {
  if (tags.includes(me.runTag)) return 'run';
  const untaggedRun = !tags.some((t) => t.startsWith(RUN_TAG_PREFIX));
  if (untaggedRun && tags.includes(buildTag(me.buildId)) && !tags.includes(KEEP_TAG)) return 'legacy';
  return undefined;
}

/** The ref to act on: checked against DigitalOcean and the run, with the host key id the worker chose. */
export async function ownedRef(deps: ActivityDeps, ref: DropletRef, field = 'droplet'): Promise<DropletRef> {
  const me = ownBuild(ref.buildId, `${field}.buildId`);
  if (!Number.isSafeInteger(ref.dropletId) || ref.dropletId <= 0)
    throw refused(`${field}.dropletId must be a droplet id, not ${JSON.stringify(ref.dropletId)}`);
  let cache = known.get(deps.api);
  if (!cache) known.set(deps.api, (cache = new Map()));
  const k = `${me.runId}|${ref.dropletId}|${ref.ipv4}`;
  if (!cache.has(k)) {
    const label = await readOwnership(deps, ref, me, field);
    if (cache.size >= KNOWN_MAX) cache.delete(cache.keys().next().value!);
    cache.set(k, label);
  }
  const { hostKeyId: _fromInput, ...rest } = ref;
  const label = cache.get(k);
  return label === undefined ? rest : { ...rest, hostKeyId: label };
}

async function readOwnership(
  deps: ActivityDeps,
  ref: DropletRef,
  me: RunIdentity,
  field: string,
): Promise<string | undefined> {
  let d: ListedDroplet;
  try {
    d = (await deps.api.call('get droplet', (c) => c.droplet.getDroplet({ droplet_id: ref.dropletId }))).data
      .droplet as ListedDroplet;
  } catch (err) {
    if (err instanceof DoApiError && err.status === 404)
      throw refused(`${field}: droplet ${ref.dropletId} does not exist`);
    throw err;
  }
  const owner = ownership(d.tags ?? [], me);
  if (!owner) throw refused(`${field}: droplet ${ref.dropletId} was not made by this build's run`);
  if (!(d.networks?.v4 ?? []).some((n) => n.ip_address === ref.ipv4))
    throw refused(`${field}.ipv4 ${JSON.stringify(ref.ipv4)} is not an address of droplet ${ref.dropletId}`);
  // A legacy droplet's host key was derived from the build id alone (DropletShells' default).
  return owner === 'run' ? me.hostKeyLabel : undefined;
}

/** A step that acts on `input.droplet`, run only on a droplet of this run (wired in activities/index.ts). */
export function onOwnDroplet<I extends { droplet: DropletRef }, O>(
  deps: ActivityDeps,
  step: (input: I) => Promise<O>,
): (input: I) => Promise<O> {
  return async (input) => step({ ...input, droplet: await ownedRef(deps, input.droplet) });
}

/** The same for a step whose whole input is the droplet (shutdown). */
export function onOwnRef<O>(
  deps: ActivityDeps,
  step: (ref: DropletRef) => Promise<O>,
): (ref: DropletRef) => Promise<O> {
  return async (ref) => step(await ownedRef(deps, ref));
}

/**
 * An image id from a workflow input is only a claim too: the image must carry this run's tag (the
 * snapshot step puts it there). `use` also takes an image made before run tags (no run tag at
 * all), so a build waiting for approval across an upgrade can still publish; `delete` never does.
 */
export function checkImageTags(
  tags: readonly string[] | undefined,
  imageId: number,
  field: string,
  purpose: 'use' | 'delete',
): void {
  const me = runIdentityOf();
  if ((tags ?? []).includes(me.runTag)) return;
  const legacy = !(tags ?? []).some((t) => t.startsWith(RUN_TAG_PREFIX));
  if (purpose === 'use' && legacy) return;
  throw refused(`${field}: image ${imageId} was not made by this build's run`);
}

/** checkImageTags on the image as DigitalOcean lists it now; a 404 goes to the caller (a delete already done). */
export async function ownedImage(
  deps: ActivityDeps,
  imageId: number,
  field: string,
  purpose: 'use' | 'delete',
): Promise<void> {
  if (!Number.isSafeInteger(imageId) || imageId <= 0)
    throw refused(`${field} must be an image id, not ${JSON.stringify(imageId)}`);
  const image = (await deps.api.call('get image', (c) => c.image.getImage({ image_id: imageId }))).data.image as {
    tags?: string[];
  };
  checkImageTags(image.tags, imageId, field, purpose);
}
