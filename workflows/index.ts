/** Every workflow the worker runs (this file is the entry of the workflow bundle). */
export { buildImage } from './build';
export { buildMatrix } from './matrix';
