/** /v2/account/keys: SSH keys, named by id or by the MD5 colon-hex fingerprint of the key blob. */
import { createHash } from 'node:crypto';
import { utils } from 'ssh2';
import { z } from 'zod';
import type { LabContext } from '../context';
import { notFound, unprocessable } from '../errors';
import { json, noContent } from '../http';
import { paginate } from '../pagination';
import type { Router } from '../router';
import { parseBody } from '../validate';
import { keyView } from '../views';

const createKey = z.object({
  name: z.string().min(1, 'Name is required'),
  public_key: z.string().min(1, 'Public key is required'),
});

/** DigitalOcean's fingerprint: MD5 of the public key blob as colon-separated hex. */
export function md5Fingerprint(publicKeyBlob: Buffer): string {
  return createHash('md5').update(publicKeyBlob).digest('hex').match(/../g)!.join(':');
}

export function registerAccountKeys(router: Router, ctx: LabContext): void {
  const { state } = ctx;

  router.get('/v2/account/keys', (req) => {
    const page = paginate(req, [...state.keys.values()]);
    return json(200, { ssh_keys: page.items.map(keyView), links: page.links, meta: page.meta });
  });

  router.post('/v2/account/keys', (req) => {
    const body = parseBody(createKey, req.body);
    const publicKey = body.public_key.trim();
    const parsed = utils.parseKey(publicKey);
    if (parsed instanceof Error || Array.isArray(parsed) || parsed.isPrivateKey()) {
      throw unprocessable('Key invalid, key should be of the format `type key [comment]`');
    }
    const fingerprint = md5Fingerprint(parsed.getPublicSSH());
    if (state.findKey(fingerprint)) throw unprocessable('SSH Key is already in use on your account');
    return json(201, { ssh_key: keyView(state.addKey(body.name, publicKey, fingerprint)) });
  });

  router.get('/v2/account/keys/:key', (req) => {
    const k = state.findKey(req.params.key!);
    if (!k) throw notFound();
    return json(200, { ssh_key: keyView(k) });
  });

  router.delete('/v2/account/keys/:key', (req) => {
    const k = state.findKey(req.params.key!);
    if (!k) throw notFound();
    state.removeKey(k);
    return noContent;
  });
}
