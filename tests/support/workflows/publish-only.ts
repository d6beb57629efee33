/** The publish path of the build workflow on its own (an image already built): for tests of workflows/publish-to-marketplace.ts. */
import { StepRunner } from '../../../workflows/steps/runner';
import { ApprovalDesk, publishToMarketplace } from '../../../workflows/publish-to-marketplace';
import type { BuildInput } from '../../../contract/build';
import type { PublishOutcome } from '../../../contract/marketplace';

export interface PublishOnlyInput {
  input: BuildInput;
  imageId: number;
  packages: Record<string, string>;
}

export async function publishOnly(req: PublishOnlyInput): Promise<PublishOutcome> {
  const steps = new StepRunner(req.input);
  const approvals = new ApprovalDesk(steps);
  const mp = req.input.plan.marketplace!;
  const os = { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' };
  return publishToMarketplace(steps, approvals, {
    input: req.input,
    marketplace: mp,
    imageId: req.imageId,
    os,
    packages: req.packages,
  });
}
