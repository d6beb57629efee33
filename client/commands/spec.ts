/** `client validate <spec>` and `client schema`: check a spec without starting anything. */
import type { Command } from 'commander';
import { SpecError, loadSpec } from '../../spec/load';
import { buildSpecJsonSchema } from '../../spec/schema';
import { UserError } from '../../contract/user-error';

export function registerSpecCommands(program: Command): void {
  program
    .command('validate')
    .description('check a build spec (schema, files present and readable) without starting anything')
    .argument('<spec>', 'the build spec (YAML)')
    .option('--json', 'print JSON')
    .action(async (file: string, flags: { json?: boolean }) => {
      try {
        const { plan } = await loadSpec(file);
        if (flags.json) console.log(JSON.stringify({ valid: true, plan }, null, 2));
        else
          console.log(
            `${file}: valid (${plan.steps.length} steps, ${plan.apt.packages.length} apt packages, ${plan.firstBoot.length} first-boot scripts)`,
          );
      } catch (err) {
        if (!(err instanceof SpecError)) throw err;
        if (flags.json) {
          console.log(JSON.stringify({ valid: false, problems: err.problems }, null, 2));
          process.exitCode = 1;
          return;
        }
        throw new UserError(err.message, 1);
      }
    });
  program
    .command('schema')
    .description('print the JSON Schema of build specs (for editor completion)')
    .action(() => {
      console.log(JSON.stringify(buildSpecJsonSchema(), null, 2));
    });
}
