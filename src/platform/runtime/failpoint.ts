/**
 * Crash injection for the tests that kill a process at a step boundary (SPEC §4.4.6). With
 * LEDGER_FAILPOINTS unset, the production default, `failpoint` does nothing. Set to a comma list
 * of `name` or `name@n`, the process SIGKILLs itself the n-th time (default the first) it passes
 * the named point: no handler runs, no buffer is flushed, exactly as when the machine dies.
 */
const armed = parseFailpoints(process.env.LEDGER_FAILPOINTS);
const passes = new Map<string, number>();

export function failpoint(name: string): void {
  const at = armed.get(name);
  if (at === undefined) return;
  const count = (passes.get(name) ?? 0) + 1;
  passes.set(name, count);
  if (count === at) process.kill(process.pid, 'SIGKILL');
}

function parseFailpoints(text: string | undefined): Map<string, number> {
  const points = new Map<string, number>();
  for (const entry of (text ?? '').split(',')) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const [name, count] = trimmed.split('@');
    const at = count === undefined ? 1 : Number.parseInt(count, 10);
    if (name === undefined || name === '' || !Number.isSafeInteger(at) || at < 1) throw new Error(`LEDGER_FAILPOINTS: cannot read "${trimmed}"`);
    points.set(name, at);
  }
  return points;
}
