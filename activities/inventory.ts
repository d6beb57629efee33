/** inventory: the OS release and every installed package's version, for the manifest. */
import type { ActivityDeps } from './runtime/deps';
import { runOnDroplet } from './remote/run-on-droplet';
import type { InventoryResult, StepContext } from '../contract/steps';

export function inventory(deps: ActivityDeps) {
  return async (input: StepContext): Promise<InventoryResult> => {
    const r = await runOnDroplet(
      deps,
      input.droplet,
      input.step,
      'list OS and packages',
      `. /etc/os-release && printf 'os\\t%s\\t%s\\t%s\\n' "$ID" "$VERSION_ID" "$PRETTY_NAME" && dpkg-query -W -f '\${db:Status-Abbrev}\\t\${Package}\\t\${Version}\\n' | awk -F'\\t' '$1 ~ /^ii/ {print "pkg\\t" $2 "\\t" $3}'`,
      { capture: true },
    );
    const out: InventoryResult = { os: { id: '', versionId: '', prettyName: '' }, packages: {} };
    for (const line of r.output.split('\n')) {
      const [kind, a, b, c] = line.split('\t');
      if (kind === 'os') out.os = { id: a ?? '', versionId: b ?? '', prettyName: c ?? '' };
      else if (kind === 'pkg' && a && b) out.packages[a] = b;
    }
    return out;
  };
}
