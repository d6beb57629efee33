/** The worker's activity dependencies, assembled: its SSH sessions to droplets are made here, from its login key. */
import { ApplicationFailure } from '@temporalio/common';
import { DropletShells } from './droplet-shells';
import { FailureType } from '../../contract/failures';
import { refusedWorkerVariable } from '../../contract/worker-secrets';
import { hostKeySecretFrom } from '../../platform/host-key';
import type { ActivityDeps } from '../runtime/deps';

/** The deps of a worker: the SSH sessions and host-key secret are made from its login key. */
export function activityDeps(base: Omit<ActivityDeps, 'shells' | 'hostKeySecret'>): ActivityDeps {
  const hostKeySecret = hostKeySecretFrom(base.login.privateKey);
  const deps: ActivityDeps = {
    ...base,
    hostKeySecret,
    // The environment is read when a bastion needs its key (tests replace deps.workerEnv), and only
    // a name the worker's operator allowed, like every `fromWorker`.
    shells: new DropletShells(base.login.privateKey, hostKeySecret, (name) => {
      const refusal = refusedWorkerVariable('ssh.bastion.privateKey', name, deps.workerSecrets);
      if (refusal)
        throw ApplicationFailure.create({ message: refusal, type: FailureType.MissingWorkerEnv, nonRetryable: true });
      return deps.workerEnv[name];
    }),
  };
  return deps;
}
