/** All build activities, bound to the worker's dependencies: one step, one file; each undo beside its step. */
import type { BuildActivities } from '../contract/activities';
import type { ActivityDeps } from './runtime/deps';
import { activity } from './runtime/failures';
import { onOwnDroplet, onOwnRef } from './droplets/owned';
import { ansiblePlaybook } from './ansible-playbook';
import { checkInput } from './check-input';
import { cleanup } from './cleanup';
import { install } from './install';
import { installFirstBoot } from './install-first-boot';
import { inventory } from './inventory';
import { sbom } from './sbom';
import { destroyBuildDroplet, provision } from './provision';
import { runScript } from './run-script';
import { shutdown } from './shutdown';
import { transfer } from './transfer';
import { upload } from './upload';
import { validate } from './validate';
import { verify } from './verify';
import { deleteSnapshot, snapshot } from './snapshot';
import { pruneSnapshots } from './prune-snapshots';
import { publish } from './publish';
import { reviewStatus } from './review-status';
import { lastPublished, recordPublished } from './published-record';
import { decideRebuild } from './decide-rebuild';
import { recordBuild } from './record-build';

/**
 * Every step that acts on the build droplet first proves the droplet is its own run's (owned.ts):
 * a DropletRef in a workflow input is a claim, not a fact.
 */
export function createActivities(deps: ActivityDeps): BuildActivities {
  return {
    checkInput: activity(checkInput(deps)),
    provision: activity(provision(deps)),
    install: activity(onOwnDroplet(deps, install(deps))),
    upload: activity(onOwnDroplet(deps, upload(deps))),
    runScript: activity(onOwnDroplet(deps, runScript(deps))),
    ansiblePlaybook: activity(onOwnDroplet(deps, ansiblePlaybook(deps))),
    installFirstBoot: activity(onOwnDroplet(deps, installFirstBoot(deps))),
    inventory: activity(onOwnDroplet(deps, inventory(deps))),
    sbom: activity(onOwnDroplet(deps, sbom(deps))),
    cleanup: activity(onOwnDroplet(deps, cleanup(deps))),
    validate: activity(onOwnDroplet(deps, validate(deps))),
    shutdown: activity(onOwnRef(deps, shutdown(deps))),
    snapshot: activity(onOwnDroplet(deps, snapshot(deps))),
    transfer: activity(transfer(deps)),
    destroy: activity(destroyBuildDroplet(deps)),
    verify: activity(verify(deps)),
    deleteSnapshot: activity(deleteSnapshot(deps)),
    pruneSnapshots: activity(pruneSnapshots(deps)),
    publish: activity(publish(deps)),
    reviewStatus: activity(reviewStatus(deps)),
    lastPublished: activity(lastPublished(deps)),
    recordPublished: activity(recordPublished(deps)),
    decideRebuild: activity(decideRebuild(deps)),
    recordBuild: activity(recordBuild(deps)),
  };
}
