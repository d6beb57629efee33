/**
 * The `client` program: every command and flag, built in one place for main.ts and for the docs test
 * (tests/docs/docs-links.test.ts), which checks each `client` command a doc page names against it.
 */
import { Command } from 'commander';
import { registerCommands } from './commands/index';
import { versionText } from './version';

export function clientProgram(): Command {
  const program = new Command('client')
    .description('Build DigitalOcean Marketplace images as durable Temporal workflows')
    .version(versionText(), '-V, --version', "print the version, and the Temporal SDK's")
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  return program;
}

/** `client import-packer -var k=v -var-file f` as with `packer build`: commander only knows --var. */
export function packerStyleFlags(argv: string[], first = 2): string[] {
  if (argv[first] !== 'import-packer') return argv;
  return argv.map((a) => a.replace(/^-(var|var-file)(=|$)/, '--$1$2'));
}
