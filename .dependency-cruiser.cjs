// The house's walls, checked on every import (type-only imports included) by `npm run lint`:
// * no cycle between any two files;
// * floors: shared ← engine, store ← jobs ← cli, extension (api on top, for other programs); a floor imports
//   only the floors below it, and only src/extension talks to VS Code;
// * rooms inside a floor, lowest first: a room imports rooms below it, never one beside or above it;
// * one entrance: cli/ and extension/ reach the build cache and the results repository only through the
//   jobs facade (src/jobs/*.ts), never src/store or src/engine/cache directly.
// See docs/architecture.md for what lives where.

/** A rule that forbids imports from `from` (a path regex) to `to`, said with `why`. */
function forbid(name, from, to, why, extra = {}) {
  return { name, severity: 'error', comment: why, from: { path: from, ...extra.from }, to: { path: to, ...extra.to } };
}

const floors = [
  ['shared', '^src/(engine|store|jobs|cli|extension|api)/'],
  ['engine', '^src/(store|jobs|cli|extension|api)/'],
  ['store', '^src/(engine|jobs|cli|extension|api)/'],
  ['jobs', '^src/(cli|extension|api)/'],
  ['cli', '^src/(extension|api)/'],
].map(([floor, above]) => forbid(`floor-${floor}`, `^src/${floor}/`, above, `src/${floor} imports only the floors below it`));

// Rooms, lowest first. A room may import the rooms listed before it.
const rooms = {
  store: ['git', 'source|results'],
  jobs: ['platform', 'problems', 'config', 'suggest|keys', 'run'],
};
const roomRules = [];
for (const [floor, order] of Object.entries(rooms)) {
  order.forEach((level, i) => {
    for (const room of level.split('|')) {
      const allowed = order.slice(0, i).flatMap((l) => l.split('|'));
      // Everything of the floor that is neither this room nor a room below it: rooms beside or above, and the
      // floor's own top-level files (its facade).
      const lower = allowed.length ? `(?!(${allowed.join('|')})/)` : '';
      roomRules.push(forbid(`room-${floor}-${room}`, `^src/${floor}/${room}/`, `^src/${floor}/(?!${room}/)${lower}`,
        `src/${floor}/${room} imports only ${allowed.length ? `src/${floor}/{${allowed.join(',')}}` : 'lower floors'} of its floor`));
    }
  });
}

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import cycle, type imports included.', from: {}, to: { circular: true } },
    forbid('core-without-vscode', '^src/(shared|engine|store|jobs|cli|api)/', '^vscode$', 'Only src/extension may import vscode.'),
    ...floors,
    ...roomRules,
    forbid('one-entrance', '^src/(cli|extension)/', '^src/(store/|engine/cache)',
      'cli/ and extension/ reach the cache and the results repository through the jobs facade (src/jobs/*.ts).'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.generated\\.ts$' },
    // Type-only imports are dependencies too: a cycle through types is still two files that know each other.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
