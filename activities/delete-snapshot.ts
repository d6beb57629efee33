/** delete-snapshot: the undo of the snapshot step (an aborted or failed verify). Gone already is done. */
import type { ActivityDeps } from './deps';
import { DoApiError } from './digitalocean';

export function deleteSnapshot(deps: ActivityDeps) {
  return async (input: { imageId: number }): Promise<{ deleted: boolean }> => {
    try {
      await deps.api.call('delete snapshot', (c) => c.image.deleteImage({ image_id: input.imageId }));
      return { deleted: true };
    } catch (err) {
      if (err instanceof DoApiError && err.status === 404) return { deleted: false };
      throw err;
    }
  };
}
