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

/** The verify step's test droplet (it carries the build tag as well). */
export function verifyTag(buildId: string): string {
  return `${buildTag(buildId)}-verify`;
}

export function dropletName(imageName: string, buildId: string): string {
  return `${imageName}-build-${createHash('sha256').update(buildId).digest('hex').slice(0, 8)}`;
}

export { familyTag } from './names';
