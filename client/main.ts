#!/usr/bin/env node
/** `client`: the one command people use — start and follow builds, and run the local lab. */
import { CommanderError } from 'commander';
import { UserError } from '../contract/user-error';
import { clientProgram, packerStyleFlags } from './program';

async function main(argv: string[]): Promise<number> {
  const program = clientProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UserError) {
      process.stderr.write(`client: ${err.message}\n`);
      return err.exitCode;
    }
    // Anything else is our bug; still no stack trace unless asked for.
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`client: unexpected error: ${msg}\n`);
    if (process.env.IMAGE_FORGE_DEBUG) console.error(err);
    return 1;
  }
}

main(packerStyleFlags(process.argv)).then((code) => process.exit(code));
