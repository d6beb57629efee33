/** Defaults shared by the `client lab` commands (the port and token match client/local-stack.ts). */
export const DEFAULT_LAB_PORT = 8585;
/** A fixed token for a lab on this machine: the lab guards nothing worth a secret. */
export const DEFAULT_LAB_TOKEN = 'lab-local-token';
export const DEFAULT_SIZE = 's-1vcpu-1gb';
export const DEFAULT_REGION = 'nyc3';

/** The token a lab command uses: the flag, else DIGITALOCEAN_TOKEN, else the fixed lab token. */
export function labToken(flag: string | undefined): { token: string; hint: string } {
  if (flag) return { token: flag, hint: 'the token given with --token' };
  if (process.env.DIGITALOCEAN_TOKEN)
    return { token: process.env.DIGITALOCEAN_TOKEN, hint: 'the token in $DIGITALOCEAN_TOKEN' };
  return { token: DEFAULT_LAB_TOKEN, hint: DEFAULT_LAB_TOKEN };
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new Error(`not a port number: ${value}`);
  return n;
}
