/** validate: the image check on the build droplet; any failed rule stops the build before the snapshot. */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from './runtime/deps';
import { IMAGE_CHECK_SCRIPT, parseImageCheck } from './image/check';
import { keyFields } from './image/key-fields';
import { runOnDroplet } from './remote/run-on-droplet';
import { shq } from './remote/shell-quote';
import type { StepContext, ValidationResult } from '../contract/steps';
import { FailureType } from '../contract/failures';

export function validate(deps: ActivityDeps) {
  return async (input: StepContext): Promise<ValidationResult> => {
    const loginKey = keyFields(deps.login.publicKey);
    const r = await runOnDroplet(deps, input.droplet, input.step, 'image check', `LOGIN_KEY=${shq(loginKey)} bash -s`, {
      stdin: IMAGE_CHECK_SCRIPT,
      capture: true,
    });
    const report = parseImageCheck(r.output);
    if (report.passed === 0) throw new Error('the image check printed no results');
    if (report.failures.length > 0) {
      throw ApplicationFailure.create({
        message: `the image fails ${report.failures.length} Marketplace rule${report.failures.length > 1 ? 's' : ''}: ${report.failures.join('; ')}`,
        type: FailureType.ValidationFailed,
        nonRetryable: true,
        details: [{ tail: [...report.failures.map((f) => `FAIL: ${f}`), ...report.warnings.map((w) => `WARN: ${w}`)] }],
      });
    }
    return report;
  };
}
