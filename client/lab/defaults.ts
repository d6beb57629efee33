/** Defaults shared by the `client lab` commands (the port matches client/local-stack.ts). */
export const DEFAULT_LAB_PORT = 8585;
export const DEFAULT_SIZE = 's-1vcpu-1gb';
export const DEFAULT_REGION = 'nyc3';

/**
 * The API token a lab command was given: the flag, else DIGITALOCEAN_TOKEN. There is no fixed
 * default: a lab makes a random token at each start (`client lab api` prints the file it is in).
 */
export function givenLabToken(flag: string | undefined): string | undefined {
  return flag || process.env.DIGITALOCEAN_TOKEN || undefined;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new Error(`not a port number: ${value}`);
  return n;
}
