/**
 * A stack whose machines share only an S3 bucket (a real versitygw): each "machine" gets its own
 * store and cache folders, so anything that works went through the bucket.
 */
import * as path from 'node:path';
import { startS3Server } from './s3-server';
import type { S3Server } from './s3-server';
import { startStack } from './stack';
import type { Stack } from './stack';

export interface S3Stack {
  stack: Stack;
  s3: S3Server;
  /** The environment of a client or worker on a machine of its own. */
  machineEnv(name: string): Record<string, string>;
  stop(): Promise<void>;
}

export async function startS3Stack(): Promise<S3Stack> {
  const s3 = await startS3Server();
  const stack = await startStack({ worker: false, lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } } }).catch(
    async (err: unknown) => {
      await s3.stop();
      throw err;
    },
  );
  return {
    stack,
    s3,
    machineEnv(name) {
      const dir = path.join(stack.dir, name);
      return { ...s3.env, IMAGE_FORGE_STORE_DIR: dir, IMAGE_FORGE_CACHE: path.join(dir, 'cache') };
    },
    async stop() {
      await stack.stop();
      await s3.stop();
    },
  };
}
