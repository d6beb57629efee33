/**
 * The lab's own endpoints, outside /v2 (DigitalOcean has nothing there): a state summary for
 * tests, and fault rules to add, list and clear.
 */
import { z } from 'zod';
import type { LabContext } from '../context';
import type { ContractChecker } from '../contract';
import { badRequest } from '../errors';
import { faultRuleSchema } from '../faults';
import { json, noContent } from '../http';
import type { Router } from '../router';

const faultsBody = z.union([faultRuleSchema, z.object({ rules: z.array(faultRuleSchema).default([]), seed: z.number().int().optional(), replace: z.boolean().optional() })]);

export async function labSummary(ctx: LabContext, contract: ContractChecker | undefined) {
  const { state, machines } = ctx;
  const droplets = [...state.droplets.values()];
  const actions = [...state.actions.values()];
  const count = <T>(xs: T[], key: (x: T) => string) => xs.reduce<Record<string, number>>((m, x) => ((m[key(x)] = (m[key(x)] ?? 0) + 1), m), {});
  return {
    droplets: {
      total: droplets.length,
      byStatus: count(droplets, (d) => d.status),
      list: droplets.map((d) => ({ id: d.id, name: d.name, status: d.status, locked: d.locked, machineName: d.machineName, ipv4: d.ipv4 ?? null })),
    },
    snapshots: state.images.size,
    /** Where each snapshot's archive is, so tests can look inside an image. */
    archives: [...state.images.values()].flatMap((i) => (i.source.kind === 'snapshot' ? [{ id: i.id, name: i.name, archivePath: i.source.archivePath }] : [])),
    keys: state.keys.size,
    tags: state.tags.size,
    actions: count(actions, (a) => a.status),
    /** Background work still running (boots, actions, destroys). */
    busy: machines.busy,
    leaks: machines.leaks,
    audit: state.audit.totals(),
    faults: ctx.faults.list(),
    contract: contract ? { enabled: true, ...(await contract.stats()), list: await contract.violations() } : { enabled: false },
  };
}

export function registerLabControl(router: Router, ctx: LabContext, contract: ContractChecker | undefined): void {
  router.get('/_lab/state', async () => json(200, await labSummary(ctx, contract)));

  router.get('/_lab/faults', () => json(200, { rules: ctx.faults.list() }));

  /** Body: one rule, or {rules: [...], seed?, replace?}. */
  router.post('/_lab/faults', (req) => {
    const r = faultsBody.safeParse(req.body ?? {});
    if (!r.success) throw badRequest(`invalid fault rules: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    const body = r.data;
    const rules = 'kind' in body ? [body] : body.rules;
    if (!('kind' in body)) {
      if (body.replace) ctx.faults.clear();
      if (body.seed !== undefined) ctx.faults.reseed(body.seed);
    }
    let ids: number[];
    try {
      ids = rules.map((rule) => ctx.faults.add(rule));
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    return json(201, { ids, rules: ctx.faults.list() });
  });

  router.delete('/_lab/faults', () => {
    ctx.faults.clear();
    return noContent;
  });
}
