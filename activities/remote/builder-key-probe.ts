/**
 * Whether the worker's own key opens a droplet made from the image (it must not): tried as root
 * and as every user with a login shell — a user given a copy of root's .ssh is one more way in —
 * through the bastion when the build has one.
 */
import type { ActivityDeps } from '../runtime/deps';
import type { DropletRef } from '../../contract/steps';
import { runOnDroplet } from './run-on-droplet';

const LOGIN_USERS = `getent passwd | awk -F: '$7 !~ /\\/(nologin|false)$/ { print $1 }'`;
/** The list comes from the image: a name is only ever an SSH user name, but no control characters or spaces. */
const USER_NAME = /^[^\s:\p{Cc}]{1,64}$/u;

/** The users the worker's key logs in as (none, on a sealed image). */
export async function usersBuilderKeyOpens(deps: ActivityDeps, ref: DropletRef, step: string): Promise<string[]> {
  const listed = await runOnDroplet(deps, ref, step, 'users with a login shell', LOGIN_USERS, { capture: true });
  const names = listed.output.split('\n').map((n) => n.trim());
  const users = [...new Set(['root', ...names.filter((n) => USER_NAME.test(n))])];
  const opens: string[] = [];
  for (const user of users) if (await deps.shells.opensAs(ref, user, deps.login.privateKey)) opens.push(user);
  return opens;
}
