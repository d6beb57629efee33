/**
 * Packer template → build spec, in stages: read (legacy JSON: read-json.ts; HCL2: hcl/read.ts)
 * into one template model, evaluate (template-functions.ts; hcl/eval.ts), map (map/: the model →
 * the spec as a plain object, notes and problems), and render (render.ts). Both formats share
 * everything after reading.
 */
import { readJsonTemplate } from './read-json';
import type { JsonReadOptions } from './read-json';
import { mapTemplate } from './map';
import type { Conversion, MapOptions } from './model';

export type { Conversion, EnvEntry, Problem, SpecObject, StepEntry, TemplateModel } from './model';
export { renderSpec } from './render';
export type { RenderOptions } from './render';
export { placeSecrets } from './map/commands';
export { aptOnly, stripCloudInitWait } from './map/builtins';
export { specName } from './map';

export type ConvertOptions = JsonReadOptions & MapOptions;

/** A parsed legacy JSON template → spec, notes and problems (pure). */
export function convertTemplate(template: unknown, opts: ConvertOptions): Conversion {
  return mapTemplate(readJsonTemplate(template, opts), opts);
}
