import { type ChildProcess } from 'node:child_process';
import { sql } from 'slonik';
import { z } from 'zod';
import { type RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { type BananoNodeDouble } from '../doubles/banano-node.double';
import { childEnv, eventually, startBuiltEntry, waitForExit } from './processes';
import { call, earner, liveOperator, replaceOperatorSeed } from './scenario';
import { synced, type TestApp } from './test-app';
import { mulberry32 } from './mulberry32';

const BAN = 10n ** 29n;

/** The step boundaries the payout workers can be killed at (LEDGER_FAILPOINTS, src/platform/runtime/failpoint.ts). */
export const CRASH_POINTS = [
  /** Mid-settlement-run, right after a PayoutRequested was appended. */
  'settlement-payout-requested',
  /** PayoutBlockSigned is recorded; the block was not published. */
  'payout-block-signed',
  /** The node accepted the block; PayoutSent is not recorded. */
  'payout-block-published',
  /** PayoutSent is recorded. */
  'payout-sent',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

export interface CrashRig {
  readonly app: TestApp;
  readonly node: BananoNodeDouble;
  /** The operator account of the seed the rig started with. */
  readonly operatorAddress: string;
  /** The accounts the seed file named since (switchOperatorSeed), the current one last. */
  readonly laterOperatorAddresses: string[];
  readonly seedFile: string;
  readonly players: Array<{ userId: string; address: string; lifetimeKills: number }>;
  /** The environment of the payout workers child (`npm run start:payouts`). */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * An operator funded on the node double, `playerCount` players with kills, and the environment
 * the payout workers run with: settlement at start and every second, the executor every 50 ms,
 * the read side left to the test app's projector; `envOverrides` on top.
 */
export async function setUpCrashRig(
  app: TestApp,
  node: BananoNodeDouble,
  directory: string,
  playerCount: number,
  envOverrides: Record<string, string> = {},
): Promise<CrashRig> {
  const { seedFile, address: operatorAddress } = await liveOperator(node, directory, 1_000_000n * BAN);
  const players: CrashRig['players'] = [];
  for (let index = 0; index < playerCount; index += 1) {
    const kills = 1 + (index % 7);
    players.push({ ...(await earner(app, kills)), lifetimeKills: kills });
  }
  const env = childEnv({
    DATABASE_URL: app.database.url,
    LOG_LEVEL: 'error',
    PROJECTOR_IN_PROCESS: 'false',
    BANANO_RPC_URL: node.url,
    BANANO_OPERATOR_SEED_FILE: seedFile,
    BANANO_RPC_TIMEOUT_MS: '1000',
    SETTLEMENT_ON_START: 'true',
    SETTLEMENT_INTERVAL_SECONDS: '1',
    PAYOUT_EXECUTOR_INTERVAL_MS: '50',
    PAYOUT_RETRY_BACKOFF_SECONDS: '0',
    PAYOUT_MIN_OPERATOR_BALANCE_BAN: '0',
    PAYOUT_DAILY_KILL_CAP: '1000000',
    PAYOUT_WEEKLY_KILL_CAP: '1000000',
    ...envOverrides,
  });
  return { app, node, operatorAddress, laterOperatorAddresses: [], seedFile, players, env };
}

/**
 * The seed file now names a new operator account, opened on the node with 1,000,000 BAN, as an
 * operator replacing the seed between two runs of the workers would leave it. Answers its address.
 */
export async function switchOperatorSeed(rig: CrashRig): Promise<string> {
  const next = await replaceOperatorSeed(rig.node, rig.seedFile, 1_000_000n * BAN);
  rig.laterOperatorAddresses.push(next.address);
  return next.address;
}

/** More kills for a few players, so every run finds new payouts to make. */
export async function earnMore(rig: CrashRig, random: () => number): Promise<void> {
  for (let count = 0; count < 4; count += 1) {
    const player = rig.players[Math.floor(random() * rig.players.length)];
    player.lifetimeKills += 1 + Math.floor(random() * 4);
    await call(rig.app, 'POST', `/v1/users/${player.userId}/kills`, { lifetimeKills: player.lifetimeKills, observedAt: new Date().toISOString() });
  }
}

export interface CrashRun {
  /** The child died of SIGKILL: at its failpoint, or by the test's hand. */
  readonly crashed: boolean;
  /** It killed itself at the failpoint (rather than being killed at `killAfterMs` or the deadline). */
  readonly atFailpoint: boolean;
  readonly output: string;
}

/**
 * Runs the payout workers until they kill themselves at `failpoint` (`name@n`), or the test kills
 * them after `killAfterMs`. A child still alive at `deadlineMs` is killed as well: every run ends
 * in a SIGKILL, at a step boundary or at a random instant.
 */
export async function runUntilKilled(rig: CrashRig, options: { failpoint?: string; killAfterMs?: number; deadlineMs?: number }): Promise<CrashRun> {
  const { child, output } = startBuiltEntry('payouts.main.js', { ...rig.env, LEDGER_FAILPOINTS: options.failpoint ?? '' });
  let killedByTest = false;
  let killer: NodeJS.Timeout | undefined;
  // The clock starts once the workers run, so a kill "at a random instant" lands in their work,
  // not in the start-up before it.
  const armKiller = (chunk: Buffer): void => {
    if (killer !== undefined || !chunk.toString().includes('payout workers running')) return;
    killer = setTimeout(() => {
      killedByTest = true;
      child.kill('SIGKILL');
    }, options.killAfterMs ?? options.deadlineMs ?? 8_000);
  };
  child.stdout?.on('data', armKiller);
  try {
    const exit = await waitForExit(child, 30_000);
    const crashed = exit.signal === 'SIGKILL';
    return { crashed, atFailpoint: crashed && !killedByTest, output: output() };
  } finally {
    clearTimeout(killer);
  }
}

const userRow = z.object({ user_id: z.string(), accrued: z.bigint(), settled: z.bigint() });

/**
 * The node faults a random run may meet when it publishes. `ambiguous`: the node takes the block,
 * then times out or drops the connection. `wide` adds the answers that refuse a copy or lose it: a
 * slow copy (taken 1.5 s later, after the workers' 1 s timeout) whose next copy is answered
 * "Internal server error in RPC", a definite refusal ("Block work is insufficient"), and a 502
 * from a proxy that never passed the copy on.
 */
export type NodeFaults = 'ambiguous' | 'wide';

const AMBIGUOUS_FAULTS = ['accept_then_timeout', 'accept_then_drop'] as const;
const WIDE_FAULTS = [...AMBIGUOUS_FAULTS, 'slow_then_error', 'work_refused', 'lost_502'] as const;
type NodeFault = (typeof WIDE_FAULTS)[number];

function injectFault(node: BananoNodeDouble, fault: NodeFault): void {
  switch (fault) {
    case 'accept_then_timeout':
    case 'accept_then_drop':
      node.failNext('process', fault);
      return;
    case 'slow_then_error':
      node.failNext('process', 'slow', { delayMs: 1_500 });
      node.failNext('process', 'reject', { error: 'Internal server error in RPC' });
      return;
    case 'work_refused':
      node.failNext('process', 'reject', { error: 'Block work is insufficient' });
      return;
    case 'lost_502':
      node.failNext('process', 'answer', { status: 502, body: {} });
      return;
    default: {
      const unknownFault: never = fault;
      throw new Error(`unknown node fault ${String(unknownFault)}`);
    }
  }
}

export interface RandomCrashSummary {
  readonly runs: number;
  readonly crashes: number;
  readonly atFailpoints: number;
  readonly atRandomInstants: number;
  readonly nodeFaults: number;
  readonly seedSwitches: number;
  /** Failed payouts cancelled, and retried, between runs (`wide` only). */
  readonly cancelled: number;
  readonly retried: number;
}

/**
 * `runs` times: a few players earn more, the node may be told to fail the next publish (`faults`),
 * the operator seed may name a new account, and the payout workers run until they are killed at a
 * random step boundary (a failpoint and hit count) or at a random instant. With `wide` faults the
 * failed payouts are then cancelled or retried, as an operator would. After every run the chains
 * are checked: no payout has two blocks, on any account, every block on them was recorded before
 * it was published, and no cancelled payout was paid.
 */
export async function crashRandomly(rig: CrashRig, runs: number, random: () => number, faults: NodeFaults = 'ambiguous'): Promise<RandomCrashSummary> {
  let crashes = 0;
  let atFailpoints = 0;
  let nodeFaults = 0;
  let seedSwitches = 0;
  let cancelled = 0;
  let retried = 0;
  const kinds = faults === 'wide' ? WIDE_FAULTS : AMBIGUOUS_FAULTS;
  for (let run = 0; run < runs; run += 1) {
    await earnMore(rig, random);
    if (random() < (faults === 'wide' ? 0.3 : 0.2)) {
      injectFault(rig.node, kinds[Math.floor(random() * kinds.length)]);
      nodeFaults += 1;
    }
    if (random() < 0.1) {
      await switchOperatorSeed(rig);
      seedSwitches += 1;
    }
    const options =
      random() < 0.7
        ? { failpoint: `${CRASH_POINTS[Math.floor(random() * CRASH_POINTS.length)]}@${1 + Math.floor(random() * 2)}`, deadlineMs: 1_500 }
        : { killAfterMs: Math.floor(random() * 1_000) };
    const result = await runUntilKilled(rig, options);
    if (!result.crashed) throw new Error(`run ${run} ended without a crash:\n${result.output}`);
    crashes += 1;
    if (result.atFailpoint) atFailpoints += 1;
    if (faults === 'wide') {
      const resolved = await resolveFailedPayouts(rig, random, { workersRunning: false });
      cancelled += resolved.cancelled;
      retried += resolved.retried;
    }
    const report = await checkExactlyOnce(rig);
    if (report.doublePaid.length > 0 || report.unrecordedBlocks.length > 0 || report.lostPayouts.length > 0 || report.paidButCancelled.length > 0) {
      throw new Error(`run ${run} (${JSON.stringify(options)}) broke exactly-once: ${JSON.stringify(report)}`);
    }
  }
  return { runs, crashes, atFailpoints, atRandomInstants: crashes - atFailpoints, nodeFaults, seedSwitches, cancelled, retried };
}

/**
 * What an operator does with the failed payouts the read model shows: cancels each (its kills go
 * to the next settlement) or, at random, retries it. A cancel refused because a block of the payout
 * is on the chain after all (409 `payout_block_on_chain`) is followed by a retry, as the answer
 * says. Any other refusal is a fault, except, while the workers run, a payout the read model shows
 * failed a moment too long or a stream the workers wrote to meanwhile: those wait for the next look.
 */
export async function resolveFailedPayouts(
  rig: CrashRig,
  random: () => number,
  options: { workersRunning: boolean },
): Promise<{ cancelled: number; retried: number }> {
  await synced(rig.app);
  const failed = await rig.app.pool.anyFirst(sql.type(z.object({ payout_id: z.string() }))`
    SELECT payout_id FROM payouts WHERE status = 'failed' ORDER BY payout_id`);
  const laterCodes = options.workersRunning ? ['payout_not_failed', 'concurrency_conflict'] : [];
  let cancelled = 0;
  let retried = 0;
  for (const payoutId of failed) {
    if (random() < 0.7) {
      const cancel = await call(rig.app, 'POST', `/v1/admin/payouts/${payoutId}/cancel`, { reason: 'crash harness' });
      if (cancel.status === 200) {
        cancelled += 1;
        continue;
      }
      if (laterCodes.includes(String(cancel.body.code))) continue;
      if (cancel.body.code !== 'payout_block_on_chain') throw new Error(`cancel of ${payoutId}: ${cancel.status} ${JSON.stringify(cancel.body)}`);
    }
    const retry = await call(rig.app, 'POST', `/v1/admin/payouts/${payoutId}/retry`);
    if (retry.status === 200) retried += 1;
    else if (!laterCodes.includes(String(retry.body.code))) throw new Error(`retry of ${payoutId}: ${retry.status} ${JSON.stringify(retry.body)}`);
  }
  return { cancelled, retried };
}

/**
 * A fresh rig of 12 players, `runs` random crashes (see crashRandomly), then a clean run to the
 * end; answers what happened and the final exactly-once report, printing both.
 *
 * With `wide` faults the workers run with PAYOUT_MAX_ATTEMPTS=1, so a refused attempt fails its
 * payout and the operator's cancels and retries are part of every scenario, and with the shortest
 * landing window (5 s), which the slow copies (1.5 s) stay within.
 */
export async function randomizedCrashScenario(
  app: TestApp,
  node: BananoNodeDouble,
  directory: string,
  runs: number,
  seed: number,
  faults: NodeFaults = 'ambiguous',
): Promise<{ summary: RandomCrashSummary; report: ExactlyOnceReport }> {
  const env: Record<string, string> = faults === 'wide' ? { PAYOUT_MAX_ATTEMPTS: '1', BANANO_LANDING_WINDOW_SECONDS: '5' } : {};
  const rig = await setUpCrashRig(app, node, directory, 12, env);
  const random = mulberry32(seed);
  const summary = await crashRandomly(rig, runs, random, faults);
  await runToCompletion(rig, { resolveFailed: faults === 'wide' ? random : undefined });
  const report = await checkExactlyOnce(rig);
  process.stdout.write(`payout crash injection (seed ${seed}, ${faults} faults): ${JSON.stringify(summary)}; ${JSON.stringify(report)}\n`);
  return { summary, report };
}

/** The seed of a randomized crash run: PAYOUT_CRASH_SEED replays one. */
export function crashSeed(): number {
  return Number.parseInt(process.env.PAYOUT_CRASH_SEED ?? String(Date.now() % 1_000_000), 10);
}

/**
 * Runs the payout workers without failpoints until every kill is paid, then stops them with
 * SIGTERM. They pay a few dozen payouts in seconds, but a machine loaded many times over has taken
 * more than a minute, hence the three. With `resolveFailed`, failed payouts are cancelled or
 * retried meanwhile (resolveFailedPayouts), and a cancelled payout counts as done: its kills are
 * paid by another.
 */
export async function runToCompletion(rig: CrashRig, options: { timeoutMs?: number; resolveFailed?: () => number } = {}): Promise<void> {
  const { child, output } = startBuiltEntry('payouts.main.js', { ...rig.env, LEDGER_FAILPOINTS: '' });
  const { resolveFailed } = options;
  try {
    await eventually(
      'every kill paid',
      async () => {
        if (resolveFailed !== undefined) await resolveFailedPayouts(rig, resolveFailed, { workersRunning: true });
        const users = await rig.app.pool.any(sql.type(userRow)`
          SELECT user_id, accrued_kill_count::bigint AS accrued, last_settled_kill_count::bigint AS settled FROM users`);
        const pending = await rig.app.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM payouts WHERE status NOT IN ('sent', 'cancelled')`);
        return users.every((user) => user.accrued === user.settled) && pending === 0 ? true : undefined;
      },
      options.timeoutMs ?? 180_000,
      100,
    );
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${output()}`);
  } finally {
    await stop(child);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const exit = await waitForExit(child, 15_000).catch(() => null);
  if (exit === null) child.kill('SIGKILL');
}

export interface ExactlyOnceReport {
  readonly payoutsRequested: number;
  readonly payoutsSent: number;
  readonly payoutsCancelled: number;
  readonly blocksOnNode: number;
  /** Payouts with more than one send block on the node; must be empty. */
  readonly doublePaid: readonly string[];
  /** Send blocks on the node that no PayoutBlockSigned recorded first; must be empty. */
  readonly unrecordedBlocks: readonly string[];
  /** Sent payouts whose block the node does not hold; must be empty. */
  readonly lostPayouts: readonly string[];
  /** Players whose received total differs from what their PayoutSent events say; must be empty. */
  readonly mismatchedPlayers: readonly string[];
  /**
   * Cancelled payouts that a block on the node pays: the last to sign it (see
   * OperatorState.payoutOfBlock), whose kills were released to be paid again; must be empty.
   */
  readonly paidButCancelled: readonly string[];
}

/**
 * Compares the chains of every operator account the rig's seed named with the event history: one
 * block per payout, each recorded before it was published.
 */
export async function checkExactlyOnce(rig: CrashRig): Promise<ExactlyOnceReport> {
  const history = await readAllOf(rig.app, ['PayoutRequested', 'PayoutSent', 'PayoutBlockSigned', 'PayoutCancelled']);
  const requested = history.filter((event) => event.type === 'PayoutRequested').length;
  const cancelled = new Set(history.filter((event) => event.type === 'PayoutCancelled').map((event) => String(event.data.payoutId)));
  const sent = history
    .filter((event) => event.type === 'PayoutSent')
    .map((event) => ({
      payout_id: String(event.data.payoutId),
      block_hash: String(event.data.blockHash),
      amount_raw: String(event.data.amountRaw),
      user_id: String(event.data.userId),
    }));
  const signed = history
    .filter((event) => event.type === 'PayoutBlockSigned')
    .map((event) => ({ payout_id: String(event.data.payoutId), block_hash: String(event.data.blockHash) }));
  const payoutOfBlock = new Map(signed.map((row) => [row.block_hash, row.payout_id]));
  const operators = new Set([rig.operatorAddress, ...rig.laterOperatorAddresses]);
  const sends = [...operators].flatMap((address) => rig.node.accountChain(address).filter((block) => block.subtype === 'send'));
  const blocksPerPayout = new Map<string, number>();
  const unrecordedBlocks: string[] = [];
  for (const block of sends) {
    const payoutId = payoutOfBlock.get(block.hash);
    if (payoutId === undefined) unrecordedBlocks.push(block.hash);
    else blocksPerPayout.set(payoutId, (blocksPerPayout.get(payoutId) ?? 0) + 1);
  }
  const onNode = new Set(sends.map((block) => block.hash));
  const sentPerPayout = new Map<string, number>();
  for (const row of sent) sentPerPayout.set(row.payout_id, (sentPerPayout.get(row.payout_id) ?? 0) + 1);
  const mismatchedPlayers: string[] = [];
  for (const player of rig.players) {
    const paid = sent.filter((row) => row.user_id === player.userId).reduce((sum, row) => sum + BigInt(row.amount_raw), 0n);
    const received = rig.node
      .receivableOf(player.address)
      .filter((send) => operators.has(send.source))
      .reduce((sum, send) => sum + send.amountRaw, 0n);
    if (paid !== received) mismatchedPlayers.push(player.userId);
  }
  return {
    payoutsRequested: requested,
    payoutsSent: sentPerPayout.size,
    payoutsCancelled: cancelled.size,
    blocksOnNode: sends.length,
    doublePaid: [
      ...[...blocksPerPayout].filter(([, count]) => count > 1).map(([payoutId]) => payoutId),
      ...[...sentPerPayout].filter(([, count]) => count > 1).map(([payoutId]) => payoutId),
    ],
    unrecordedBlocks,
    lostPayouts: sent.filter((row) => !onNode.has(row.block_hash)).map((row) => row.payout_id),
    mismatchedPlayers,
    paidButCancelled: [...blocksPerPayout.keys()].filter((payoutId) => cancelled.has(payoutId)),
  };
}

async function readAllOf(app: TestApp, eventTypes: string[]): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const page = await app.store.readAll({ fromPosition: events.at(-1)?.position ?? null, maxCount: 1_000, filter: { kind: 'eventType', eventTypes } });
    events.push(...page);
    if (page.length < 1_000) return events;
  }
}
