// A CPU profile of the extension host (its own inspector, from inside), summarised: where the samples fall
// by owner (the extension's bundle, the VS Code API layer, Node, garbage collection, idle) and the functions
// with the most self time. To explain a benchmark's figure, never as one: on a loaded machine a sample may
// land on a thread that waits for a core.
import * as inspector from 'inspector';
import * as path from 'path';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] }

function post<T>(s: inspector.Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => s.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
}

/** Whose sample it is: the first caller with a source of its own (Node's internals and natives have none). */
function owner(frame: ProfileNode['callFrame']): string | undefined {
  const { functionName: name, url } = frame;
  if (name.startsWith('(') && name !== '(anonymous)') { return name; } // (garbage collector), (program), (idle), (root)
  if (url.includes('/dist/extension.js')) { return 'extension'; }
  if (url.includes('/out/')) { return 'bench'; }
  if (url === '' || url.startsWith('node:')) { return undefined; }
  return 'host'; // VS Code's extension host and API layer
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by owner: `extension`, `host` (VS Code's API layer), `node` (no JS caller: event loop, streams), GC, idle. */
  byOwnerMs: Record<string, number>;
  /** [function @ file:line, self ms, its two nearest callers (the most frequent)], most first; not the bench's own. */
  top: [string, number, string][];
  /** The longest stretches without an idle sample: [ms after the start, ms long, the extension function (or
   *  other) most sampled in it]. */
  longTasks: [number, number, string][];
}

export async function profiled<T>(fn: () => Promise<T>, top = 15): Promise<{ result: T; profile: ProfileSummary }> {
  const s = new inspector.Session();
  s.connect();
  try {
    await post(s, 'Profiler.enable');
    await post(s, 'Profiler.setSamplingInterval', { interval: 500 });
    await post(s, 'Profiler.start');
    const result = await fn();
    const { profile } = await post<{ profile: Profile }>(s, 'Profiler.stop');
    return { result, profile: summarise(profile, top) };
  } finally {
    s.disconnect();
  }
}

const label = (n: ProfileNode): string =>
  `${n.callFrame.functionName || '(anonymous)'} @ ${n.callFrame.url ? path.basename(n.callFrame.url) : '?'}:${n.callFrame.lineNumber + 1}`;

function summarise(p: Profile, top: number): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) { for (const c of n.children ?? []) { parent.set(c, n.id); } }
  const callers = (id: number): string => {
    const names: string[] = [];
    for (let at = parent.get(id); at !== undefined && names.length < 2; at = parent.get(at)) { names.push(label(byId.get(at)!)); }
    return names.join(' < ');
  };
  const self = new Map<number, number>();
  (p.samples ?? []).forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas?.[i] ?? 0) / 1000));
  const ownerOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const o = owner(byId.get(at)!.callFrame);
      if (o !== undefined && o !== '(root)') { return o; }
    }
    return 'node';
  };
  const byOwner: Record<string, number> = {};
  const byFunction = new Map<string, { ms: number; via: Map<string, number> }>();
  let total = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id)!;
    const o = ownerOf(id);
    byOwner[o] = (byOwner[o] ?? 0) + ms;
    total += ms;
    if (o === '(idle)' || o === '(program)' || o === 'bench') { continue; }
    const f = byFunction.get(label(node)) ?? { ms: 0, via: new Map<string, number>() };
    f.ms += ms;
    const via = callers(id);
    f.via.set(via, (f.via.get(via) ?? 0) + ms);
    byFunction.set(label(node), f);
  }
  const r = (x: number): number => Number(x.toFixed(1));
  // Busy stretches, in sample order; a sample is named after its nearest caller in the extension, if any.
  const nameOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (byId.get(at)!.callFrame.url.includes('/dist/extension.js')) { return label(byId.get(at)!); }
    }
    return label(byId.get(id)!);
  };
  const tasks: [number, number, string][] = [];
  let t = 0;
  let run: { start: number; ms: number; names: Map<string, number> } | undefined;
  const close = (): void => {
    if (run) { tasks.push([r(run.start), r(run.ms), [...run.names].sort((a, b) => b[1] - a[1])[0][0]]); }
    run = undefined;
  };
  (p.samples ?? []).forEach((id, i) => {
    const dt = (p.timeDeltas?.[i] ?? 0) / 1000;
    t += dt;
    if (ownerOf(id) === '(idle)') { close(); return; }
    run ??= { start: t - dt, ms: 0, names: new Map() };
    run.ms += dt;
    const n = nameOf(id);
    run.names.set(n, (run.names.get(n) ?? 0) + dt);
  });
  close();
  return {
    totalMs: r(total),
    byOwnerMs: Object.fromEntries(Object.entries(byOwner).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, r(v)])),
    top: [...byFunction].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)
      .map(([k, f]) => [k, r(f.ms), [...f.via].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '']),
    longTasks: tasks.sort((a, b) => b[1] - a[1]).slice(0, 6),
  };
}
