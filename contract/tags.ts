/**
 * Tags that let us always find what a build created: for idempotent steps and for the janitor.
 * Uses node:crypto, so workflow code does not import this file (it needs none of it).
 */
import { createHash } from 'node:crypto';

/** Every droplet the builder creates carries this tag. */
export const BUILDER_TAG = 'image-forge';

/** A base build's droplet, kept on purpose for the vendor to inspect. */
export const KEEP_TAG = 'image-forge-keep';

/** Unique per build (DigitalOcean tags allow letters, digits, "-", "_" and ":"). */
export function buildTag(buildId: string): string {
  return `image-forge-build-${createHash('sha256').update(buildId).digest('hex').slice(0, 20)}`;
}

/** Every run tag starts so: a droplet that has none was made before runs were told apart. */
export const RUN_TAG_PREFIX = 'image-forge-run-';

/**
 * Unique per workflow run: what a run made carries it, and a run acts only on what carries its own
 * (a new run that reuses a finished build's workflow id gets another one).
 */
export function runTag(workflowId: string, runId: string): string {
  return `${RUN_TAG_PREFIX}${createHash('sha256').update(`${workflowId}\0${runId}`).digest('hex').slice(0, 24)}`;
}

export function dropletName(imageName: string, buildId: string): string {
  return `${imageName}-build-${createHash('sha256').update(buildId).digest('hex').slice(0, 8)}`;
}

export { familyTag } from './names';
