/**
 * dpkg without fsync while the image is built: install writes dpkg's `force-unsafe-io` as a
 * config file, so every dpkg run of the build (apt's, the spec's scripts' too) skips the fsync of
 * each unpacked file. A build droplet that dies mid-install is thrown away, never snapshotted, so
 * nothing is lost; cleanup syncs and removes the file before the seal, and the image check fails an
 * image that still holds it (a customer's dpkg must stay crash-safe).
 */

/** Written by install, removed by cleanup; the image check looks for it by this name. */
export const DPKG_UNSAFE_IO_FILE = '/etc/dpkg/dpkg.cfg.d/99image-forge-build-unsafe-io';
