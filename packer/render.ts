/** The spec as YAML through the `yaml` Document API, with a comment at each gap (--partial). */
import { Document, isMap, isScalar, isSeq } from 'yaml';
import type { YAMLMap } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import type { Problem, SpecObject } from './model';

export interface RenderOptions {
  /** First comment line(s), e.g. where the spec came from. */
  header?: string[];
  /** Problems to write as comments at their gaps (--partial). */
  gaps?: { problem: Problem; where: string }[];
}

/** The spec as YAML through the `yaml` Document API, with a comment at each gap. */
export function renderSpec(spec: SpecObject, opts: RenderOptions = {}): string {
  const doc = new Document(spec);
  const header = [...(opts.header ?? [])];
  const stepsNode = doc.get('steps', true);
  const steps = isSeq(stepsNode) ? stepsNode : undefined;
  steps?.items.forEach((item) => {
    if (!isMap(item)) return;
    const upload = item.get('upload', true);
    if (isMap(upload)) upload.flow = true;
    const ansible = item.get('ansible', true);
    if (isMap(ansible)) {
      for (const list of ['tags', 'skipTags']) {
        const s = ansible.get(list, true);
        if (isSeq(s)) s.flow = true;
      }
    }
  });
  for (const key of ['droplet', 'snapshot'] as const) {
    const m = doc.get(key, true);
    if (!isMap(m)) continue;
    for (const list of ['tags', 'regions']) {
      const s = m.get(list, true);
      if (isSeq(s)) s.flow = true;
    }
  }
  const apt = doc.get('apt', true);
  if (isMap(apt)) {
    const pk = apt.get('packages', true);
    if (isSeq(pk)) pk.flow = true;
  }
  const gapsAtEnd: string[] = [];
  const topGaps: string[] = [];
  const byStep = new Map<number, string[]>();
  for (const g of opts.gaps ?? []) {
    const text = ` NOT CONVERTED: ${g.where}: ${g.problem.message}`;
    if (g.problem.step === undefined) topGaps.push(text);
    else if (steps && g.problem.step < steps.items.length)
      byStep.set(g.problem.step, [...(byStep.get(g.problem.step) ?? []), text]);
    else gapsAtEnd.push(text);
  }
  for (const [i, texts] of byStep) {
    const node = steps!.items[i] as YamlNode;
    node.commentBefore = [node.commentBefore, ...texts].filter(Boolean).join('\n');
  }
  if (gapsAtEnd.length > 0) {
    if (steps && steps.items.length > 0) steps.comment = [steps.comment, ...gapsAtEnd].filter(Boolean).join('\n');
    else {
      const pair = isMap(doc.contents)
        ? (doc.contents as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === 'steps')
        : undefined;
      if (pair && isScalar(pair.key)) pair.key.commentBefore = gapsAtEnd.join('\n');
      else topGaps.push(...gapsAtEnd);
    }
  }
  if (header.length > 0 || topGaps.length > 0)
    doc.commentBefore = [...header.map((h) => ` ${h}`), ...topGaps].join('\n');
  return doc.toString({ lineWidth: 0 });
}
