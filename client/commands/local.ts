/** `client local start | stop`: the background Temporal dev server, lab and worker of --local builds. */
import type { Command } from 'commander';
import { ensureLocalStack, localDir, stopLocalStack } from '../local-stack';

export function registerLocalCommands(program: Command): void {
  const local = program
    .command('local')
    .description('the local stack --local builds use (Temporal dev server, lab, worker)');
  local
    .command('start')
    .description('start whatever of the local stack is not running')
    .action(async () => {
      const s = await ensureLocalStack((m) => process.stderr.write(`${m}\n`));
      console.log(
        `local stack up (started: ${s.started.join(', ') || 'nothing, all was running'}); Web UI http://127.0.0.1:8233; logs in ${localDir()}`,
      );
    });
  local
    .command('stop')
    .description('stop the local stack started by --local (its state stays for next time)')
    .action(async () => {
      const stopped = await stopLocalStack();
      console.log(stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing was running');
    });
}
