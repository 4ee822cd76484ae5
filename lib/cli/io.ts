import type { Writable } from 'node:stream';

/** Where the CLI writes: results on `out`, progress and errors on `err`. */
export interface Io {
  out(text: string): Promise<void>;
  err(text: string): void;
}

/** Writes to streams; `out` resolves once the text is flushed, so exiting after it loses nothing. */
export function streamIo(stdout: Writable, stderr: Writable): Io {
  return {
    out: (text) =>
      new Promise((resolve, reject) => stdout.write(text, (error) => (error ? reject(error) : resolve()))),
    err: (text) => void stderr.write(text),
  };
}
