import { readFileSync } from 'node:fs';

/** CPU and memory of a Linux process, from /proc/<pid>/stat and /proc/<pid>/status. */
export interface ProcSnapshot {
  /** utime + stime, in seconds. */
  cpuSeconds: number;
  /** VmRSS: resident memory now, in bytes. */
  rssBytes: number;
  /** VmHWM: the peak resident memory so far, in bytes. */
  peakRssBytes: number;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
export const CLOCK_TICKS = 100;

/**
 * utime and stime (fields 14 and 15) of a /proc/<pid>/stat line, in clock ticks. The command
 * name (field 2) is in parentheses and may hold spaces and parentheses: fields are counted
 * from the last ')'.
 */
export function parseProcStat(text: string): { utime: number; stime: number } {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line');
  // After ')' come field 3 (state) onwards; utime is field 14, so index 11 of the rest.
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('not a /proc/<pid>/stat line');
  return { utime, stime };
}

/** A `Name:   1234 kB` field of /proc/<pid>/status in bytes; null when absent. */
export function statusField(text: string, name: string): number | null {
  const match = new RegExp(`^${name}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : null;
}

/** The process's CPU time and memory now; throws when it is gone. */
export function procSnapshot(pid: number | 'self'): ProcSnapshot {
  const { utime, stime } = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    cpuSeconds: (utime + stime) / CLOCK_TICKS,
    rssBytes: statusField(status, 'VmRSS') ?? 0,
    peakRssBytes: statusField(status, 'VmHWM') ?? 0,
  };
}

/** Like procSnapshot, or undefined once the process has exited. */
export function tryProcSnapshot(pid: number | 'self'): ProcSnapshot | undefined {
  try {
    return procSnapshot(pid);
  } catch {
    return undefined;
  }
}
