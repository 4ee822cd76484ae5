import { existsSync, readFileSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Longest source excerpt quoted in the message. */
const MAX_EXCERPT = 100;

/**
 * Why a PIPELINE module did not load, as one line naming the file and line to fix:
 * `/home/me/pipelines/orders.ts:3 (enum Kind { A }): SyntaxError [...]: TypeScript enum is
 * not supported in strip-only mode`, followed by what to do when the failure is one Node's
 * TypeScript support makes common.
 *
 * The location comes from the error: Node puts `file:line` first in the stack of a syntax
 * error (in whichever module of the pipeline it is), and a throw while the module runs has a
 * stack frame in the pipeline's folder.
 */
export function describeLoadFailure(error: unknown, moduleFile: string): string {
  const location = failureLocation(error, dirname(moduleFile));
  const where = location ? `${location.file}:${location.line}${excerpt(location)}: ` : '';
  return `${where}${String(error)}${hint(error)}`;
}

interface Location {
  file: string;
  line: number;
}

function failureLocation(error: unknown, folder: string): Location | undefined {
  if (!(error instanceof Error) || typeof error.stack !== 'string') return undefined;
  // A syntax error's stack opens with the line of source Node could not compile.
  const header = /^(file:\/\/\S+|\/\S+|[A-Za-z]:\\\S+):(\d+)$/m.exec(error.stack.split('\n', 1)[0] ?? '');
  if (header) return { file: toPath(header[1]!), line: Number(header[2]) };
  // Otherwise the first place in the pipeline's folder the stack (or a compiler's message) names.
  const prefixes = [folder + sep, pathToFileURL(folder).href + '/'].map(escapeRegExp).join('|');
  const inFolder = new RegExp(`((?:${prefixes})[^\\s:()'"]+):(\\d+)`).exec(error.stack);
  return inFolder ? { file: toPath(inFolder[1]!), line: Number(inFolder[2]) } : undefined;
}

/** ` (source of that line)`, when the file can be read. */
function excerpt({ file, line }: Location): string {
  try {
    const text = readFileSync(file, 'utf8').split('\n')[line - 1]?.trim();
    if (!text) return '';
    return ` (${text.length > MAX_EXCERPT ? `${text.slice(0, MAX_EXCERPT)}…` : text})`;
  } catch {
    return '';
  }
}

function hint(error: unknown): string {
  if (!(error instanceof Error)) return '';
  const code = (error as { code?: unknown }).code;
  if (code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') {
    return (
      '. Node.js runs TypeScript by erasing the types, so syntax that generates code is refused:' +
      ' write an enum as an object `as const`, a parameter property as a field set in the constructor,' +
      ' and no namespace'
    );
  }
  if (error instanceof SyntaxError && /does not provide an export named/.test(error.message)) {
    return '. A type imported from a TypeScript module needs `import type` (or `import { type Name }`)';
  }
  const missing = /Cannot find module '([^']+)\.js'/.exec(error.message)?.[1];
  if (code === 'ERR_MODULE_NOT_FOUND' && missing !== undefined && existsSync(toPath(`${missing}.ts`))) {
    return '. Import a TypeScript module by its own name, ending in .ts';
  }
  return '';
}

function toPath(fileOrUrl: string): string {
  return fileOrUrl.startsWith('file://') ? fileURLToPath(fileOrUrl) : fileOrUrl;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
