import type { Rule } from 'eslint';
import { dirname, relative, resolve, sep } from 'node:path';

/**
 * The layers of lib/, bottom first: a folder (or a top-level module) of lib/ imports only from
 * layers below its own, never from its own layer's other members nor from above. Folders that
 * import each other cannot be written, so the layering of lib/ holds by construction.
 */
export const LIB_LAYERS: readonly (readonly string[])[] = [
  ['core', 'project-root.ts', 'startup-error.ts'],
  ['config', 'observability', 'operators', 'sinks'],
  ['pipeline'],
  ['service'],
  ['kafka', 'nats'],
  ['broker', 'cli', 'testing', 'index.ts', 'startup-failure.ts'],
  ['main.ts'],
  ['dev-start.ts'],
];

/** The unit of lib/ a path is in: its first folder, or the file itself at the top of lib/. */
function unitOf(libRoot: string, file: string): string | undefined {
  const inLib = relative(libRoot, file);
  if (inLib.startsWith('..')) return undefined;
  return inLib.split(sep)[0]!.replace(/\.js$/, '.ts');
}

function layerOf(unit: string): number {
  return LIB_LAYERS.findIndex((layer) => layer.includes(unit));
}

/** ESLint rule `folder-layers`: relative imports between units of lib/ follow LIB_LAYERS. */
export const folderLayersRule: Rule.RuleModule = {
  meta: {
    type: 'problem',
    docs: { description: 'Each folder of lib/ imports only folders of the layers below it.' },
    schema: [{ type: 'object', properties: { libRoot: { type: 'string' } }, additionalProperties: false }],
    messages: {
      upward:
        "lib/{{from}} may not import lib/{{to}}: {{to}} is not in a layer below {{from}}'s (LIB_LAYERS in scripts/folder-layers-rule.ts), and imports both ways would make a cycle.",
      unknown: 'lib/{{unit}} is in no layer: add it to LIB_LAYERS in scripts/folder-layers-rule.ts.',
    },
  },
  create(context) {
    const libRoot =
      (context.options[0] as { libRoot?: string } | undefined)?.libRoot ?? resolve(context.cwd, 'lib');
    const from = unitOf(libRoot, context.filename);
    if (from === undefined) return {};
    const check = (node: Rule.Node, specifier: unknown) => {
      if (typeof specifier !== 'string' || !specifier.startsWith('.')) return;
      const to = unitOf(libRoot, resolve(dirname(context.filename), specifier));
      if (to === undefined || to === from) return;
      for (const unit of [from, to]) {
        if (layerOf(unit) < 0) {
          context.report({ node, messageId: 'unknown', data: { unit } });
          return;
        }
      }
      if (layerOf(to) >= layerOf(from)) context.report({ node, messageId: 'upward', data: { from, to } });
    };
    // The source of an import, an export ... from, or an import() with a literal path.
    const fromSource = (node: { source?: unknown }) => {
      const source = node.source as Rule.Node | null | undefined;
      if (source?.type === 'Literal') check(source, source.value);
    };
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: fromSource,
    };
  },
};
