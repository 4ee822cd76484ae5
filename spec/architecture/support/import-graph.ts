import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

/** One import of one file: what it names, and the project file it resolves to when relative. */
export interface ImportEdge {
  /** The importing file, relative to the project root (`lib/operators/process.ts`). */
  from: string;
  /** The specifier as written (`../core/delivery.js`, `kafkajs`). */
  specifier: string;
  /** The imported project file (`lib/core/delivery.ts`), or undefined for a package. */
  to: string | undefined;
}

// `import … from '…'` and `export … from '…'`, type-only ones included (they still tie the
// folders together), over several lines; `import '…'`; and `import('…')`.
const STATIC_IMPORT = /^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gm;
const SIDE_EFFECT_IMPORT = /^\s*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The specifiers a TypeScript source imports, in no particular order. */
export function specifiersOf(source: string): string[] {
  return [STATIC_IMPORT, SIDE_EFFECT_IMPORT, DYNAMIC_IMPORT].flatMap((pattern) =>
    [...source.matchAll(pattern)].map((match) => match[1]!),
  );
}

/** Every `.ts` file under `dir` (relative to `root`), with its imports. */
export function importsUnder(root: string, dir: string): ImportEdge[] {
  const entries = readdirSync(join(root, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .flatMap((file) =>
      specifiersOf(readFileSync(join(root, file), 'utf8')).map((specifier) => ({
        from: file,
        specifier,
        to: specifier.startsWith('.')
          ? normalize(join(dirname(file), specifier))
              .split(sep)
              .join('/')
              .replace(/\.js$/, '.ts')
          : undefined,
      })),
    );
}

/**
 * The unit of the architecture a file of `lib/` belongs to: its folder under `lib/`
 * (`lib/operators/process.ts` → `operators`), or the file itself when it sits in `lib/` (the
 * entry points and a few modules of their own, `lib/main.ts` → `main.ts`).
 */
export function unitOf(file: string): string {
  return file.split('/')[1]!;
}

/** One cycle of units, each step with an import that makes it, e.g. operators → pipeline → operators. */
export interface UnitCycle {
  /** Every unit of the tangle: each reaches every other through imports. */
  members: string[];
  /** One cycle through the tangle, from its first member back to it. */
  units: string[];
  /** For each step `units[i] → units[i + 1]`, one import that makes it. */
  through: ImportEdge[];
}

/**
 * The cycles between units: for every group of units that reach each other (a strongly
 * connected component), one cycle through them, so a report names the folders and imports to
 * untangle. Empty when the units form layers.
 */
export function unitCycles(
  edges: readonly ImportEdge[],
  unit: (file: string) => string = unitOf,
): UnitCycle[] {
  const graph = new Map<string, Map<string, ImportEdge>>();
  for (const edge of edges) {
    if (edge.to === undefined) continue;
    const from = unit(edge.from);
    const to = unit(edge.to);
    if (from === to) continue;
    const targets = graph.get(from) ?? graph.set(from, new Map()).get(from)!;
    if (!targets.has(to)) targets.set(to, edge);
    if (!graph.has(to)) graph.set(to, new Map());
  }
  return stronglyConnected(graph)
    .filter((component) => component.length > 1)
    .map((component) => cycleWithin(graph, new Set(component)));
}

/** Tarjan's algorithm: the strongly connected components of `graph`. */
function stronglyConnected(graph: Map<string, Map<string, ImportEdge>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node)!.keys()) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      components.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components;
}

/** A shortest cycle from the component's first unit back to itself, inside the component. */
function cycleWithin(graph: Map<string, Map<string, ImportEdge>>, component: Set<string>): UnitCycle {
  const start = [...component].sort()[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of graph.get(node)!.keys()) {
      if (!component.has(next) || cameFrom.has(next)) continue;
      cameFrom.set(next, node);
      if (next === start) queue.length = 0;
      else queue.push(next);
      if (next === start) break;
    }
  }
  const units = [start];
  for (let node = cameFrom.get(start)!; node !== start; node = cameFrom.get(node)!) units.unshift(node);
  units.unshift(start);
  const through = units.slice(0, -1).map((from, i) => graph.get(from)!.get(units[i + 1]!)!);
  return { members: [...component].sort(), units, through };
}

/**
 * `operators, pipeline import each other: operators → pipeline → operators
 * (lib/operators/process.ts imports ../pipeline/delivery.js; …)`
 */
export function describeCycle({ members, units, through }: UnitCycle): string {
  const imports = through.map((edge) => `${edge.from} imports ${edge.specifier}`).join('; ');
  return `${members.join(', ')} import each other: ${units.join(' → ')} (${imports})`;
}

/** Every project file `entry` reaches through its imports, itself included. */
export function reachableFrom(edges: readonly ImportEdge[], entry: string): Set<string> {
  const byFile = new Map<string, ImportEdge[]>();
  for (const edge of edges) (byFile.get(edge.from) ?? byFile.set(edge.from, []).get(edge.from)!).push(edge);
  const seen = new Set<string>([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    for (const edge of byFile.get(queue.shift()!) ?? []) {
      if (edge.to !== undefined && !seen.has(edge.to)) {
        seen.add(edge.to);
        queue.push(edge.to);
      }
    }
  }
  return seen;
}
