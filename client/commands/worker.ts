/**
 * `client worker`: runs the worker (dist/worker/main.js) in this process's place — same process id,
 * so a service manager's SIGTERM reaches the worker itself — on the Node `client` runs on (bin/client
 * picks the project's Node 24). Flags become the environment variables the worker reads.
 */
import type { Command } from 'commander';
import * as path from 'node:path';
import { UserError } from '../../contract/user-error';
import { workerEnvironmentHelp } from '../../contract/worker-environment';

/** dist/worker/main.js, beside this file's dist/client/commands/. */
const WORKER_MAIN = path.resolve(__dirname, '..', '..', 'worker', 'main.js');

interface WorkerFlags {
  taskQueue?: string;
  address?: string;
  namespace?: string;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker: polls the task queue and runs build steps (stops cleanly on SIGTERM)')
    .option('--task-queue <name>', 'task queue to poll (TEMPORAL_TASK_QUEUE)')
    .option('--address <host:port>', 'Temporal frontend (TEMPORAL_ADDRESS)')
    .option('--namespace <name>', 'Temporal namespace (TEMPORAL_NAMESPACE)')
    .addHelpText(
      'after',
      `\nSettings, from the environment (flags above win):\n${workerEnvironmentHelp()}\n\nOn SIGTERM or SIGINT the worker stops polling, gives running steps up to 30 s to finish, hands the rest back to Temporal and exits 0.`,
    )
    .action((flags: WorkerFlags) => {
      const env: NodeJS.ProcessEnv = { ...process.env };
      if (flags.taskQueue) env.TEMPORAL_TASK_QUEUE = flags.taskQueue;
      if (flags.address) env.TEMPORAL_ADDRESS = flags.address;
      if (flags.namespace) env.TEMPORAL_NAMESPACE = flags.namespace;
      // process.execve is Node ≥ 22.15; the worker needs 24 anyway.
      if (typeof process.execve !== 'function')
        throw new UserError(
          `the worker needs Node 24 or newer, this is Node ${process.versions.node}: run bin/client, which uses the project's node_modules/.bin/node`,
        );
      process.execve(process.execPath, [process.execPath, '--enable-source-maps', WORKER_MAIN], env);
    });
}
