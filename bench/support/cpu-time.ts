import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';

/*
 * Where the CPU went during a side's slices of load: the CPU time of its server (the ledger
 * service, or a bare baseline server), of PostgreSQL (the postmaster and every process under it:
 * backends, writers, checkpointer), of this process (the load generator) and of the whole machine,
 * read from Linux's /proc before and after each slice. Divided by the side's requests or events, it
 * says what one costs each process, so that a ratio short of its target is explained by the run's
 * own figures and not only by a profile taken another day. Where a figure cannot be read (no
 * /proc, or PostgreSQL on another machine), it is left out, never guessed.
 */

/** CPU time so far, in microseconds, of each party a meter watches; null where it cannot be read. */
export type CpuReading = ReadonlyMap<string, number | null>;

/** The parties every reading holds besides the servers: the load generator (this process), PostgreSQL and the machine. */
export const LOAD_GENERATOR = 'load generator';
export const MACHINE = 'machine';
export const POSTGRESQL = 'PostgreSQL';
/** The servers P1 and P4 watch: the ledger service, and their bare fastify + pg baseline. */
export const SERVICE = 'service';
export const BARE_SERVER = 'bare server';

/** What a side of a benchmark keeps busy: its server (none for SQL sent straight from the load generator), then the rest. */
export function sideParties(server: string | null): string[] {
  return [...(server === null ? [] : [server]), POSTGRESQL, LOAD_GENERATOR, MACHINE];
}

interface ProcessStat {
  readonly parentPid: number;
  readonly command: string;
  /** utime + stime, in clock ticks. */
  readonly ownTicks: number;
  /** cutime + cstime: the children it has waited for, in clock ticks. */
  readonly reapedChildrenTicks: number;
}

/**
 * One line of /proc/<pid>/stat. The command sits in parentheses and may itself hold spaces and
 * parentheses, so the fields are counted from the last `)`.
 */
export function parseProcessStat(line: string): ProcessStat | null {
  const end = line.lastIndexOf(')');
  const start = line.indexOf('(');
  if (start === -1 || end < start) return null;
  // Fields 3 onwards (state, ppid, …), numbered as in proc(5): field n is at index n - 3.
  const fields = line.slice(end + 2).split(' ');
  const field = (n: number): number => Number(fields[n - 3]);
  const stat = { parentPid: field(4), command: line.slice(start + 1, end), ownTicks: field(14) + field(15), reapedChildrenTicks: field(16) + field(17) };
  return Number.isFinite(stat.parentPid) && Number.isFinite(stat.ownTicks) && Number.isFinite(stat.reapedChildrenTicks) ? stat : null;
}

/**
 * The time every CPU of the machine spent working, from /proc/stat's first line, in clock ticks:
 * user, nice, system, irq and softirq. Idle and iowait are not work, and steal is time the
 * hypervisor gave to other machines.
 */
export function parseMachineBusyTicks(procStat: string): number | null {
  const line = procStat.split('\n', 1)[0];
  if (!line.startsWith('cpu ')) return null;
  const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + (irq ?? 0) + (softirq ?? 0);
  return Number.isFinite(busy) ? busy : null;
}

function readStat(pid: number): ProcessStat | null {
  try {
    return parseProcessStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

let ticksPerSecond: number | undefined;

/** The kernel's clock tick (USER_HZ), in which /proc counts CPU time: 100 on every usual Linux. */
function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * Watches named server processes, PostgreSQL's processes (found from `databaseUrl`), this process
 * and the machine. PostgreSQL's time is the postmaster's own, the time of the children it has
 * already reaped (so a backend that ends between two readings still counts), and that of every
 * process under it now.
 */
export class CpuMeter {
  private constructor(
    private readonly servers: ReadonlyMap<string, number>,
    private readonly postmasterPid: number | null,
  ) {}

  /**
   * `servers` names the processes to watch by pid. PostgreSQL is watched when the server behind
   * `databaseUrl` runs on this machine, found as the parent of the backend that answers.
   */
  static async open(options: { readonly servers: Readonly<Record<string, number>>; readonly databaseUrl: string }): Promise<CpuMeter> {
    return new CpuMeter(new Map(Object.entries(options.servers)), await postmasterOf(options.databaseUrl));
  }

  read(): CpuReading {
    const microsecondsPerTick = 1_000_000 / clockTicksPerSecond();
    const reading = new Map<string, number | null>();
    for (const [name, pid] of this.servers) {
      const stat = readStat(pid);
      reading.set(name, stat === null ? null : stat.ownTicks * microsecondsPerTick);
    }
    const postgres = this.postgresTicks();
    reading.set(POSTGRESQL, postgres === null ? null : postgres * microsecondsPerTick);
    const self = process.cpuUsage();
    reading.set(LOAD_GENERATOR, self.user + self.system);
    let machine: number | null = null;
    try {
      const busy = parseMachineBusyTicks(readFileSync('/proc/stat', 'utf8'));
      machine = busy === null ? null : busy * microsecondsPerTick;
    } catch {
      machine = null;
    }
    reading.set(MACHINE, machine);
    return reading;
  }

  private postgresTicks(): number | null {
    if (this.postmasterPid === null) return null;
    const postmaster = readStat(this.postmasterPid);
    if (postmaster === null) return null;
    let ticks = postmaster.ownTicks + postmaster.reapedChildrenTicks;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = readStat(Number(entry));
      if (stat !== null && stat.parentPid === this.postmasterPid) ticks += stat.ownTicks;
    }
    return ticks;
  }
}

/**
 * The pid of the postmaster serving `databaseUrl`, when it runs on this machine: the parent of the
 * backend that answers, both named `postgres` in /proc. Null when it is elsewhere, or /proc
 * cannot tell (the pid could then name some unrelated local process).
 */
async function postmasterOf(databaseUrl: string): Promise<number | null> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'bench-cpu-meter' });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = readStat(rows[0].pid);
    if (backend === null || backend.command !== 'postgres') return null;
    const postmaster = readStat(backend.parentPid);
    return postmaster !== null && postmaster.command === 'postgres' ? backend.parentPid : null;
  } finally {
    await client.end();
  }
}

/** The CPU time of some parties summed over slices: what `add` saw between its two readings. */
export class CpuAccount {
  private readonly totals = new Map<string, number | null>();

  constructor(private readonly parties: readonly string[]) {}

  add(before: CpuReading, after: CpuReading): void {
    for (const party of this.parties) {
      const start = before.get(party);
      const end = after.get(party);
      const sum = this.totals.has(party) ? this.totals.get(party)! : 0;
      this.totals.set(party, sum === null || start == null || end == null ? null : sum + (end - start));
    }
  }

  /** "service 1,127, PostgreSQL 826, …": microseconds per unit (a request, an event), unreadable parties left out. */
  describePer(units: number): string {
    if (units <= 0) return 'nothing to divide by';
    const parts: string[] = [];
    for (const party of this.parties) {
      const total = this.totals.get(party);
      if (total == null) continue;
      parts.push(`${party} ${Math.round(total / units).toLocaleString('en-US')}`);
    }
    return parts.length === 0 ? 'not readable here' : parts.join(', ');
  }
}
