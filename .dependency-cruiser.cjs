/**
 * The layout's rules, checked in `npm test` (npm run deps). Rooms: contract/ is what client,
 * workflows and worker agree on; platform/ reaches the outside (Temporal, DigitalOcean, SSH);
 * spec/ and context/ are libraries; workflows/, activities/, worker/ and client/ never import
 * each other, except the worker, which wires the activities it runs.
 */
const STEP = '^activities/[^/]+\\.ts$';
const rooms = ['workflows', 'activities', 'worker', 'client'];

/** Each toolbox room, and the rooms below it that it may use. */
function toolboxFloors() {
  return [
    ['runtime', []],
    ['droplets', ['runtime']],
    ['remote', ['runtime']],
    ['records', ['runtime']],
    ['image', ['runtime', 'droplets', 'remote']],
  ];
}

/* eslint-disable no-undef */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import cycles anywhere.', from: {}, to: { circular: true } },
    {
      name: 'steps-never-import-steps',
      severity: 'error',
      comment: 'A step file imports the toolbox (activities/<folder>/), never another step.',
      from: { path: STEP, pathNot: '^activities/index\\.ts$' },
      to: { path: STEP },
    },
    {
      name: 'toolbox-uses-no-step',
      severity: 'error',
      comment: 'The toolbox (activities/<folder>/) is used by steps and uses none.',
      from: { path: '^activities/[^/]+/' },
      to: { path: STEP },
    },
    // The toolbox has floors: runtime/ at the bottom (deps, failures, logs, input checks), then
    // droplets/, remote/ and records/ side by side (DigitalOcean's API, SSH to a droplet, the
    // build store's records), then image/ (what makes and checks an image) on top. A file uses
    // its own floor's room and the floors below it, never a floor above or a room beside it.
    ...toolboxFloors().map(([room, allowed]) => ({
      name: `toolbox-floor-${room}`,
      severity: 'error',
      comment: `activities/${room}/ uses only ${allowed.length ? allowed.map((r) => `${r}/`).join(', ') : 'nothing else'} of the toolbox.`,
      from: { path: `^activities/${room}/` },
      to: { path: `^activities/(?!(${[room, ...allowed].join('|')})/)[^/]+/` },
    })),
    ...rooms.map((room) => ({
      name: `${room}-stays-in-its-room`,
      severity: 'error',
      comment: `${room}/ shares only contract/, platform/, spec/ and context/ with the other rooms.`,
      from: { path: `^${room}/` },
      to: {
        path: `^(${rooms.filter((r) => r !== room).join('|')})/`,
        // The worker is where activities are wired to their dependencies.
        pathNot: room === 'worker' ? '^activities/(index|runtime/deps|remote/activity-deps)\\.ts$' : '^$',
      },
    })),
    {
      name: 'contract-is-self-contained',
      severity: 'error',
      comment: 'contract/ imports only contract/ (and Temporal SDK packages): the workflow bundle loads it.',
      from: { path: '^contract/' },
      to: { path: '^(?!contract/)[^/]+/', dependencyTypesNot: ['npm', 'core'] },
    },
    {
      name: 'platform-below-rooms',
      severity: 'error',
      comment: 'platform/ is used by the rooms and uses none of them.',
      from: { path: '^(platform|spec|context)/' },
      to: { path: `^(${rooms.join('|')}|lab|tests|bench|packer)/` },
    },
    {
      name: 'product-never-imports-tests-or-lab',
      severity: 'error',
      from: { path: `^(${rooms.join('|')}|contract|platform|spec|context|packer)/` },
      to: { path: '^(tests|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
