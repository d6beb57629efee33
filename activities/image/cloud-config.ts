/** The cloud-config a builder droplet boots with. */
import type { HostKey } from '../../platform/host-key';

/** Hands the droplet its host key, so the very first connection is verified. */
export function cloudConfig(hostKey: HostKey): string {
  const indent = (s: string) =>
    s
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
  return [
    '#cloud-config',
    'ssh_deletekeys: true',
    'ssh_genkeytypes: []',
    'ssh_keys:',
    '  ed25519_private: |',
    indent(hostKey.privateOpenSsh),
    `  ed25519_public: ${hostKey.publicOpenSsh}`,
    '',
  ].join('\n');
}

/** What cloud-init makes of a part, by its first line (cloud-init's "user data formats"). */
const PART_TYPES: [RegExp, string][] = [
  [/^#cloud-config\b/, 'text/cloud-config'],
  [/^#!/, 'text/x-shellscript'],
  [/^#cloud-boothook\b/, 'text/cloud-boothook'],
  [/^#include\b/, 'text/x-include-url'],
  [/^#part-handler\b/, 'text/part-handler'],
  [/^## template: jinja\b/, 'text/jinja2'],
];

/** The vendor's user data cannot be combined with the builder's: a clear sentence why. */
export class UserDataError extends Error {
  override name = 'UserDataError';
}

/**
 * The build droplet's user data: the builder's cloud-config alone, or — with the spec's own user
 * data — a MIME multi-part document cloud-init reads part by part. The vendor's part comes first
 * and the builder's last: when both are cloud-configs, cloud-init merges them with later keys
 * replacing earlier ones, so the host key (ssh_keys, ssh_deletekeys, ssh_genkeytypes) is always
 * the builder's, and everything else of the vendor's (write_files, runcmd, a #! script…) runs.
 */
export function buildUserData(builder: string, vendor: string | undefined): string {
  if (vendor === undefined || vendor.trim() === '') return builder;
  const first = vendor
    .replace(/^\uFEFF/, '')
    .split('\n', 1)[0]!
    .trimEnd();
  if (/^content-type:\s*multipart\//i.test(first) || /^mime-version:/i.test(first))
    throw new UserDataError(
      'droplet.userData is already a MIME multi-part document: give its parts as plain user data (one #cloud-config or one script)',
    );
  const type = PART_TYPES.find(([re]) => re.test(first))?.[1];
  if (!type)
    throw new UserDataError(
      `droplet.userData must start with a line cloud-init knows (#cloud-config, #!/bin/sh…, #cloud-boothook, #include), not ${JSON.stringify(first.slice(0, 40))}`,
    );
  // A boundary that appears in neither part.
  let boundary = '==image-forge-user-data==';
  for (let i = 0; vendor.includes(boundary) || builder.includes(boundary); i++) boundary = `==image-forge-${i}==`;
  const part = (contentType: string, filename: string, body: string) =>
    [
      `--${boundary}`,
      `Content-Type: ${contentType}; charset="utf-8"`,
      'MIME-Version: 1.0',
      'Content-Transfer-Encoding: 8bit',
      `Content-Disposition: attachment; filename="${filename}"`,
      '',
      body.endsWith('\n') ? body : `${body}\n`,
    ].join('\n');
  return [
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    'MIME-Version: 1.0',
    '',
    part(type, type === 'text/x-shellscript' ? 'vendor-user-data.sh' : 'vendor-user-data', vendor),
    part('text/cloud-config', 'image-forge.cfg', builder),
    `--${boundary}--`,
    '',
  ].join('\n');
}
