import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Client } from 'pg';
import { CpuAccount, CpuMeter, type CpuReading, LOAD_GENERATOR, MACHINE, parseMachineBusyTicks, parseProcessStat, POSTGRESQL } from '../bench/support/cpu-time';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/**
 * The benchmarks' CPU accounting (bench/support/cpu-time.ts) against real processes: a child kept
 * busy, this process, and the PostgreSQL server the tests run on, backends that end included.
 * Where there is no /proc (not Linux), every figure but the load generator's must be unreadable.
 */

const procReadable = existsSync('/proc/stat');

/**
 * Spins until this process has used `ms` more of CPU time, as node counts it: on a loaded machine a
 * spin of a given wall time may get much less than that on a core.
 */
function busyFor(ms: number): void {
  const cpuMicros = (): number => {
    const usage = process.cpuUsage();
    return usage.user + usage.system;
  };
  const until = cpuMicros() + ms * 1_000;
  while (cpuMicros() < until) {
    // Spins: the CPU time is the point.
  }
}

const delta = (before: CpuReading, after: CpuReading, party: string): number | null => {
  const start = before.get(party);
  const end = after.get(party);
  return start == null || end == null ? null : end - start;
};

describe('bench CPU accounting: /proc lines', () => {
  it('counts the fields of a process stat line from the last parenthesis, whatever the command holds', () => {
    const stat = parseProcessStat('4242 (pg (worker) x) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 100 3133440 408');
    expect(stat).toEqual({ parentPid: 17, command: 'pg (worker) x', ownTicks: 300, reapedChildrenTicks: 10 });
    expect(parseProcessStat('garbage')).toBeNull();
    expect(parseProcessStat('12 (short) S 1')).toBeNull();
  });

  it('adds the working columns of the machine line, leaving idle, iowait and steal out', () => {
    expect(parseMachineBusyTicks('cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0')).toBe(160);
    expect(parseMachineBusyTicks('intr 1 2 3')).toBeNull();
  });
});

describe('bench CPU accounting: a meter on real processes', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });

  afterAll(async () => {
    await database.drop();
  });

  it("counts a server's CPU time while it works, and none once it has stopped", async () => {
    // The child spins until it has used 400 ms more of CPU time when told to on stdin, says so, then
    // waits to be killed. Counted in CPU time, not wall time, however busy the machine.
    const spin = 'const t = () => { const u = process.cpuUsage(); return u.user + u.system; }; const u = t() + 400000; while (t() < u);';
    const child = spawn(
      process.execPath,
      ['-e', `process.stdin.once("data", () => { ${spin} console.log("spun"); }); setInterval(() => {}, 1000);`],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      const meter = await CpuMeter.open({ servers: { child: child.pid! }, databaseUrl: database.url });
      const spun = new Promise<void>((resolve) => child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('spun') && resolve()));
      const before = meter.read();
      child.stdin!.write('go\n');
      await spun;
      const after = meter.read();
      if (!procReadable) return expect(after.get('child')).toBeNull();
      // The 400 ms of CPU the child spent, in /proc's 10 ms ticks.
      expect(delta(before, after, 'child')).toBeGreaterThanOrEqual(380_000);
      expect(delta(before, after, MACHINE)).toBeGreaterThanOrEqual(delta(before, after, 'child')! / 2);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    const meter = await CpuMeter.open({ servers: { child: child.pid! }, databaseUrl: database.url });
    expect(meter.read().get('child')).toBeNull();
  });

  it("reads a server's CPU time as the process itself counts it", async () => {
    const meter = await CpuMeter.open({ servers: { self: process.pid }, databaseUrl: database.url });
    busyFor(100);
    const reading = meter.read();
    if (!procReadable) return expect(reading.get('self')).toBeNull();
    // The same process read two ways: /proc in 10 ms ticks, and node's own count.
    expect(Math.abs(reading.get('self')! - reading.get(LOAD_GENERATOR)!)).toBeLessThan(50_000);
    expect(reading.get('self')).toBeGreaterThanOrEqual(100_000);
  });

  it("counts the load generator's own CPU time", async () => {
    const meter = await CpuMeter.open({ servers: {}, databaseUrl: database.url });
    const before = meter.read();
    busyFor(150);
    expect(delta(before, meter.read(), LOAD_GENERATOR)).toBeGreaterThanOrEqual(150_000);
  });

  it("counts PostgreSQL's work, also that of a backend which ended before the second reading", async () => {
    const meter = await CpuMeter.open({ servers: {}, databaseUrl: database.url });
    const before = meter.read();
    if (!procReadable) return expect(before.get(POSTGRESQL)).toBeNull();
    expect(before.get(POSTGRESQL)).not.toBeNull();
    const client = new Client({ connectionString: database.url });
    await client.connect();
    const startedAt = performance.now();
    await client.query('SELECT count(*) FROM generate_series(1, 4000000)');
    const queryMs = performance.now() - startedAt;
    // Its backend ends here: its time moves to the postmaster's reaped children.
    await client.end();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const spent = delta(before, meter.read(), POSTGRESQL)!;
    // The backend spun through the whole query, on a busy machine not all of it on a core.
    expect(queryMs).toBeGreaterThan(100);
    expect(spent).toBeGreaterThanOrEqual(queryMs * 250);
  });
});

describe('bench CPU accounting: sums over slices', () => {
  const reading = (entries: Record<string, number | null>): CpuReading => new Map(Object.entries(entries));

  it('adds what each party spent between the two readings of every slice, and says it per unit', () => {
    const account = new CpuAccount(['service', POSTGRESQL]);
    account.add(reading({ service: 1_000, [POSTGRESQL]: 5_000, other: 0 }), reading({ service: 2_500_000, [POSTGRESQL]: 1_005_000, other: 9 }));
    account.add(reading({ service: 3_000_000, [POSTGRESQL]: 2_000_000 }), reading({ service: 3_501_000, [POSTGRESQL]: 2_000_000 }));
    // service 2,499,000 + 501,000 = 3,000,000; PostgreSQL 1,000,000: over 2,000 requests.
    expect(account.describePer(2_000)).toBe('service 1,500, PostgreSQL 500');
    expect(account.describePer(0)).toBe('nothing to divide by');
  });

  it('leaves out a party it could not read in any slice, and says when it could read none', () => {
    const account = new CpuAccount(['service', POSTGRESQL]);
    account.add(reading({ service: 0, [POSTGRESQL]: null }), reading({ service: 4_000, [POSTGRESQL]: null }));
    account.add(reading({ service: 4_000, [POSTGRESQL]: 0 }), reading({ service: 6_000, [POSTGRESQL]: 10 }));
    expect(account.describePer(2)).toBe('service 3,000');
    const unread = new CpuAccount(['service']);
    unread.add(reading({ service: null }), reading({ service: 5 }));
    expect(unread.describePer(1)).toBe('not readable here');
  });
});
