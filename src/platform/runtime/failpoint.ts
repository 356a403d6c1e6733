/**
 * Crash injection for the tests that kill a process at a step boundary (SPEC §4.4.6). With
 * LEDGER_FAILPOINTS unset, the production default, `failpoint` does nothing. Set to a comma list
 * of `name` or `name@n`, the process SIGKILLs itself the n-th time (default the first) it passes
 * the named point: no handler runs, no buffer is flushed, exactly as when the machine dies.
 */
const passes = new Map<string, number>();
/**
 * Read on first use, not as the module loads: a value it cannot read would then end the process
 * with a stack trace before main() ran. Every entry point's loadConfig refuses one first.
 */
let armed: Map<string, number> | undefined;

export function failpoint(name: string): void {
  armed ??= parseFailpoints(process.env.LEDGER_FAILPOINTS ?? '') ?? undefined;
  if (armed === undefined) throw new Error(`LEDGER_FAILPOINTS cannot be read (got ${process.env.LEDGER_FAILPOINTS})`);
  const at = armed.get(name);
  if (at === undefined) return;
  const count = (passes.get(name) ?? 0) + 1;
  passes.set(name, count);
  if (count === at) process.kill(process.pid, 'SIGKILL');
}

/** A comma list of `name` or `name@n` (n from 1) as a map of name to n; null for anything else. */
export function parseFailpoints(text: string): Map<string, number> | null {
  const points = new Map<string, number>();
  for (const entry of text.split(',')) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const match = /^([^@\s]+)(?:@(\d{1,15}))?$/.exec(trimmed);
    const at = match?.[2] === undefined ? 1 : Number(match[2]);
    if (match === null || at < 1) return null;
    points.set(match[1], at);
  }
  return points;
}
