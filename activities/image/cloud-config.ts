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
