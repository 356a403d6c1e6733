import { createHash, randomUUID } from 'node:crypto';
import bananojsModule = require('@bananocoin/bananojs');
import { decide, evolve, type RegisteredUser, type UserCommand, type UserState, initialState } from '../../src/identity/user/user.decider';
import { USER_EVENT_SCHEMA_VERSION, type UserEvent } from '../../src/identity/user/user.events';
import { toStreamName, userIdFromDiscordId } from '../../src/identity/user/user.stream';
import { emptyOperatorState, type OperatorState, operatorStream, type ReceiveRecordedData } from '../../src/payouts/operator/operator.events';
import { executorMetadata } from '../../src/payouts/executor/payout-executor';
import { capWindows } from '../../src/payouts/run-settlement/settlement-facts';
import { type SettlementEvent, settlementStream } from '../../src/payouts/settlement/settlement.events';
import { type EligibleUser, planSettlement } from '../../src/payouts/settlement/settlement-plan';
import { hashOf, type StateBlock } from '../../src/payouts/banano/state-block';
import { type CommandMetadata } from '../../src/platform/decider';
import { type EventMetadata } from '../../src/platform/event-store/event-store.port';
import { parseBan } from '../../src/platform/money';
import { DEFAULT_MILESTONES, milestoneFor, type RateFactors, sustainabilityFactor } from '../../src/rewards/economics/rate';
import { NO_DONATIONS_ELSEWHERE } from '../../src/payouts/operator/operator-accounts';
import { receiveRecordEvents } from '../../src/treasury/receive-record';
import { SeededRandom } from './random';

/*
 * A faithful synthetic history of the faucet: the events the service itself would have appended
 * for `users` players over four weeks, about `events` in all. Every user-stream event comes out of
 * the real user decider (decide + evolve) fed with the commands the HTTP API, the stats poller, the
 * settlement job and the dry-run executor send; settlement runs are planned by the real
 * planSettlement; donations and milestones by the treasury's receiveRecordEvents. Metadata is what
 * each caller writes (integration key, system worker, admin with client IP).
 *
 * Time is simulated: every command gets `now` = its own time, so observedAt, recordedAt, the caps'
 * UTC days and ISO weeks and the rate factors (milestone multiplier from the donations so far,
 * sustainability factor from what was paid so far) are those of that moment. The whole history ends
 * eight days before `now`, so none of it counts against the kill caps of the current day or ISO week.
 *
 * At the end every user is eligible for a settlement (SPEC §4.3): verified Epic link, a wallet, no
 * open high flag, no payout in flight, and unclaimed kills from a last observation made after the
 * last historical run. The last few percent of events are observations the stats poller made in the
 * last half hour (some with new kills, some without), which also make the total exactly `events`.
 */

export interface HistoryOptions {
  readonly users: number;
  /** The number of events to generate, exactly (unless the users alone need more). */
  readonly events: number;
  readonly seed: string;
  readonly now: Date;
  /** The simulated dry-run balance (BANANO_DRY_RUN_BALANCE_BAN) the historical runs budget from. */
  readonly dryRunBalanceRaw: bigint;
  /**
   * Not for the benchmarks (a dry run never fails): this share of payouts has refused attempts
   * until it fails, and is then retried by an admin (and sent) or cancelled (its kills released and
   * claimed again by a later run). For checking the read models on every payout path.
   */
  readonly failingPayoutShare?: number;
}

export interface HistoryEvent {
  readonly id: string;
  readonly streamName: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly metadata: EventMetadata;
  /** When it was appended, in epoch milliseconds. */
  readonly at: number;
}

interface SimUser {
  readonly index: number;
  readonly userId: string;
  readonly discordUserId: string;
  readonly epicAccountId: string;
  readonly address: string;
  state: UserState;
  /** The player's true lifetime kills. */
  lifetime: number;
  /** Side facts the planner needs and the decider's state does not keep. */
  readonly accrualInfo: Map<string, { readonly epochMinute: number; readonly rateRaw: bigint }>;
  readonly claims: Array<{ readonly at: number; readonly kills: bigint; readonly payoutId: string }>;
  events: number;
}

const enum Kind {
  Register,
  LinkEpic,
  LinkWallet,
  VerifyWallet,
  Observe,
  ObserveDecrease,
  ObserveImpossible,
  ClearFlags,
  Run,
  Donation,
}

interface Action {
  readonly t: number;
  readonly seq: number;
  readonly kind: Kind;
  readonly user: number;
  /** Observe: new kills (0: an observation without new kills). */
  readonly arg: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const RUN_INTERVAL_MS = 6 * HOUR_MS;
const BASE_RATE_RAW = parseBan('0.05') as bigint;
const SEED_FUND_RAW = parseBan('1336') as bigint;
const MIN_OPERATOR_BALANCE_RAW = parseBan('50') as bigint;
const DAILY_KILL_CAP = 150;
const WEEKLY_KILL_CAP = 750;
const ABUSE = { killRatePerMinute: 10n, maxKillsPerObservation: 500n } as const;

const bananojs = bananojsModule as unknown as { getBananoAccount(publicKey: string): string };

/** A valid `ban_` address (correct checksum) for a public key derived from `name`. */
export function benchAddress(name: string): string {
  return bananojs.getBananoAccount(createHash('sha256').update(name).digest('hex').toUpperCase());
}

export class LedgerHistory {
  readonly byType = new Map<string, number>();
  readonly streams = new Map<string, number>();
  eventCount = 0;
  private out: HistoryEvent[] = [];
  readonly operatorAddress = benchAddress('bench-operator');
  private readonly users: SimUser[] = [];
  private readonly random: SeededRandom;
  private readonly candidates = new Set<number>();
  private totalDonatedRaw = 0n;
  private totalPaidOutRaw = 0n;
  private operator: OperatorState = emptyOperatorState;
  private operatorFrontier = '0'.repeat(64);
  private operatorBalanceRaw = 0n;
  private lastAt = 0;
  private readonly donors: string[] = [];
  private readonly endAt: number;
  private readonly startAt: number;
  private readonly lastRunAt: number;

  constructor(private readonly options: HistoryOptions) {
    if (options.users < 1 || options.events < options.users * 7) throw new Error('A history needs at least 7 events per user');
    this.random = new SeededRandom(options.seed);
    this.endAt = options.now.getTime() - 8 * DAY_MS;
    this.startAt = this.endAt - 28 * DAY_MS;
    this.lastRunAt = this.endAt - 12 * HOUR_MS;
    for (let index = 0; index < 200; index += 1) this.donors.push(benchAddress(`bench-donor-${index}`));
  }

  /** The users' ids, in creation order. */
  userIds(): string[] {
    return this.users.map((user) => user.userId);
  }

  /** The simulated state of a user, as the decider folded it. */
  stateOf(userId: string): { state: UserState; events: number } {
    const user = this.users.find((candidate) => candidate.userId === userId);
    if (user === undefined) throw new Error(`No simulated user ${userId}`);
    return { state: user.state, events: user.events };
  }

  /** The user with the longest stream, a good one to check a read back against. */
  busiestUserId(): string {
    return this.users.reduce((best, user) => (user.events > best.events ? user : best)).userId;
  }

  /** Users a settlement would pay now, by the rules of SPEC §4.3 applied to the simulated state. */
  eligibleCount(): number {
    return this.users.filter((user) => this.isEligible(user)).length;
  }

  /** The events, in the order of $all (their time order), generated as they are read. */
  *events(): Generator<HistoryEvent> {
    const actions = this.plan();
    for (const action of actions) {
      this.perform(action);
      yield* this.drain();
    }
    // The stats poller's last half hour: exactly enough observations to reach the total.
    let at = this.endAt - 30 * MINUTE_MS;
    let next = 0;
    while (this.eventCount < this.options.events) {
      const user = this.users[next % this.users.length];
      next += 1;
      at += 7;
      const remaining = this.options.events - this.eventCount;
      // An observation with new kills appends two events (three with a flag); near the end only
      // observations without new kills, which append exactly one.
      const kills = remaining > 3 && this.random.chance(0.5) ? this.random.int(1, 12) : 0;
      this.observe(user, at, user.lifetime + kills, 'stats-poller');
      user.lifetime += kills;
      yield* this.drain();
    }
  }

  /** The events the last action appended, handed out once. */
  private *drain(): Generator<HistoryEvent> {
    const out = this.out;
    this.out = [];
    yield* out;
  }

  private plan(): Action[] {
    const actions: Action[] = [];
    let seq = 0;
    const push = (t: number, kind: Kind, user: number, arg = 0): void => {
      actions.push({ t: Math.floor(t), seq: seq++, kind, user, arg });
    };
    const { random } = this;
    const finalFrom = this.lastRunAt + MINUTE_MS;
    const finalTo = this.endAt - HOUR_MS;
    for (let index = 0; index < this.options.users; index += 1) {
      const discordUserId = String(100_000_000_000_000_000n + BigInt(index) * 7919n);
      const userId = userIdFromDiscordId(discordUserId);
      this.users.push({
        index,
        userId,
        discordUserId,
        epicAccountId: createHash('md5').update(`bench-epic-${index}`).digest('hex'),
        address: benchAddress(`bench-wallet-${index}`),
        state: initialState,
        lifetime: random.int(0, 5_000),
        accrualInfo: new Map(),
        claims: [],
        events: 0,
      });
      const registeredAt = this.startAt + random.next() * 14 * DAY_MS;
      push(registeredAt, Kind.Register, index);
      push(registeredAt + 20_000, Kind.LinkEpic, index);
      push(registeredAt + 40_000, Kind.LinkWallet, index);
      if (random.chance(0.3)) push(registeredAt + 90_000, Kind.VerifyWallet, index);
      // Sessions before the last run: each one may be settled by the run after it.
      const earlier = random.chance(0.35) ? 0 : random.chance(0.7) ? 1 : 2;
      const from = registeredAt + 2 * MINUTE_MS;
      const to = this.lastRunAt - MINUTE_MS;
      for (let session = 0; session < earlier; session += 1) {
        push(from + random.next() * (to - from), Kind.Observe, index, random.chance(0.1) ? 0 : random.int(1, 20));
      }
      if (random.chance(0.005)) push(from + random.next() * (to - from), Kind.ObserveDecrease, index);
      // A few impossible deltas, cleared by an admin an hour later, well before the last run.
      if (random.chance(0.001)) {
        const at = from + random.next() * Math.max(0, this.startAt + 20 * DAY_MS - from);
        push(at, Kind.ObserveImpossible, index);
        push(at + HOUR_MS, Kind.ClearFlags, index);
      }
      // The last session, after the last historical run: every user ends with unsettled kills.
      push(finalFrom + random.next() * (finalTo - finalFrom), Kind.Observe, index, random.int(1, 20));
    }
    for (let at = this.startAt + RUN_INTERVAL_MS; at <= this.lastRunAt; at += RUN_INTERVAL_MS) push(at, Kind.Run, -1);
    const donations = Math.max(20, Math.round(this.options.events / 1_000));
    for (let index = 0; index < donations; index += 1) push(this.startAt + random.next() * (this.endAt - 2 * HOUR_MS - this.startAt), Kind.Donation, -1);
    return actions.sort((a, b) => a.t - b.t || a.seq - b.seq);
  }

  private perform(action: Action): void {
    const user = action.user >= 0 ? this.users[action.user] : null;
    const at = action.t;
    switch (action.kind) {
      case Kind.Register:
        if (user === null) return;
        this.userCommand(user, at, { type: 'RegisterUser', data: { userId: user.userId, discordUserId: user.discordUserId, regionCode: this.random.chance(0.7) ? 'EU' : 'NAE', now: new Date(at) } }, integration('discord-bot'));
        return;
      case Kind.LinkEpic:
        if (user === null) return;
        this.userCommand(user, at, { type: 'LinkEpicAccount', data: { epicAccountId: user.epicAccountId, baselineKills: BigInt(user.lifetime), linkedToAnotherUser: false, formerHolderMark: null, rate: this.rate(), now: new Date(at) } }, integration('discord-bot'));
        return;
      case Kind.LinkWallet:
        if (user === null) return;
        this.userCommand(user, at, { type: 'LinkWallet', data: { address: user.address, primaryForAnotherUser: false, now: new Date(at) } }, integration('web'));
        return;
      case Kind.VerifyWallet:
        if (user === null) return;
        this.userCommand(
          user,
          at,
          {
            type: 'VerifyWallet',
            data: {
              address: user.address,
              message: `Pay2Slay wallet ownership for ${user.userId} at ${new Date(at).toISOString()}`,
              signature: this.random.hex(128).toUpperCase(),
              signatureValid: true,
              now: new Date(at),
            },
          },
          integration('web'),
        );
        return;
      case Kind.Observe:
        if (user === null) return;
        this.observe(user, at, user.lifetime + action.arg, this.random.chance(0.8) ? 'stats-poller' : 'discord-bot');
        user.lifetime += action.arg;
        return;
      case Kind.ObserveDecrease:
        if (user === null) return;
        this.observe(user, at, Math.max(0, user.lifetime - 3), 'stats-poller');
        return;
      case Kind.ObserveImpossible:
        if (user === null) return;
        user.lifetime += 600;
        this.observe(user, at, user.lifetime, 'stats-poller');
        return;
      case Kind.ClearFlags: {
        if (user === null || user.state.status !== 'registered') return;
        for (const flag of user.state.flags.filter((candidate) => candidate.open && candidate.severity === 'high')) {
          this.userCommand(user, at, { type: 'ClearAbuseFlag', data: { flagId: flag.flagId, reason: 'checked the match history: a merged account', now: new Date(at) } }, {
            correlationId: randomUUID(),
            causationId: null,
            actor: { kind: 'admin', name: 'bench-admin' },
            clientIp: '10.0.0.7',
          });
        }
        return;
      }
      case Kind.Run:
        this.settlementRun(at);
        return;
      case Kind.Donation:
        this.donation(at);
        return;
      default: {
        const unreachable: never = action.kind;
        throw new Error(`Unknown action ${String(unreachable)}`);
      }
    }
  }

  private observe(user: SimUser, at: number, lifetimeKills: number, caller: 'stats-poller' | 'discord-bot'): void {
    const metadata = caller === 'stats-poller' ? system('stats-poller') : integration('discord-bot');
    this.userCommand(user, at, { type: 'ObserveKills', data: { lifetimeKills: BigInt(lifetimeKills), observedAt: new Date(at), now: new Date(at), rate: this.rate(), abuse: ABUSE } }, metadata);
  }

  /** Decides `command` on the user's state with the real decider, evolves it and appends the events. */
  private userCommand(user: SimUser, at: number, command: UserCommand, metadata: CommandMetadata): void {
    const events = decide(command, user.state);
    for (const event of events) {
      user.state = evolve(user.state, event);
      this.afterUserEvent(user, event, at);
    }
    this.emit(toStreamName(user.userId), events, { ...metadata, schemaVersion: USER_EVENT_SCHEMA_VERSION }, at);
    user.events += events.length;
  }

  private afterUserEvent(user: SimUser, event: UserEvent, at: number): void {
    if (event.type === 'AccrualRecorded') {
      user.accrualInfo.set(event.data.accrualId, { epochMinute: event.data.epochMinute, rateRaw: BigInt(event.data.ratePerKillRaw) });
      this.candidates.add(user.index);
    } else if (event.type === 'PayoutRequested') {
      user.claims.push({ at, kills: BigInt(event.data.kills), payoutId: event.data.payoutId });
    } else if (event.type === 'PayoutSent') {
      this.totalPaidOutRaw += BigInt(event.data.amountRaw);
    } else if (event.type === 'PayoutCancelled') {
      // The claim is given back: its kills count against no cap any more.
      const claim = user.claims.find((candidate) => candidate.payoutId === event.data.payoutId);
      if (claim !== undefined) user.claims.splice(user.claims.indexOf(claim), 1);
      this.candidates.add(user.index);
    }
  }

  private rate(): RateFactors {
    return {
      baseRaw: BASE_RATE_RAW,
      milestoneMultiplier: milestoneFor(this.totalDonatedRaw, DEFAULT_MILESTONES).multiplier,
      sustainabilityFactor: sustainabilityFactor({
        enabled: true,
        seedFundRaw: SEED_FUND_RAW,
        totalDonatedRaw: this.totalDonatedRaw,
        totalPaidOutRaw: this.totalPaidOutRaw,
      }),
    };
  }

  private isEligible(user: SimUser): boolean {
    const state = user.state;
    if (state.status !== 'registered') return false;
    return (
      state.epic !== null &&
      state.verification === 'ok' &&
      state.wallet !== null &&
      !state.flags.some((flag) => flag.open && flag.severity === 'high') &&
      !state.payouts.some((payout) => payout.status === 'requested' || payout.status === 'failed') &&
      [...state.accruals.values()].some((accrual) => accrual.kills > accrual.claimed)
    );
  }

  /** A scheduled settlement run, planned by the real planner and sent at once by the dry-run executor. */
  private settlementRun(at: number): void {
    const now = new Date(at);
    const { dayStart, weekStart } = capWindows(now);
    const eligible: EligibleUser[] = [];
    for (const index of this.candidates) {
      const user = this.users[index];
      if (!this.isEligible(user)) continue;
      const state = user.state as RegisteredUser;
      const accruals = [...state.accruals.entries()]
        .filter(([, accrual]) => accrual.kills > accrual.claimed)
        .map(([accrualId, accrual]) => {
          const info = user.accrualInfo.get(accrualId);
          if (info === undefined) throw new Error(`No simulated facts for accrual ${accrualId}`);
          return { accrualId, epochMinute: info.epochMinute, unclaimedKills: accrual.kills - accrual.claimed, claimedKills: accrual.claimed, ratePerKillRaw: info.rateRaw };
        });
      const claimedSince = (from: Date): bigint => user.claims.filter((claim) => claim.at >= from.getTime()).reduce((sum, claim) => sum + claim.kills, 0n);
      eligible.push({ userId: user.userId, address: (state.wallet as { address: string }).address, accruals, claimedToday: claimedSince(dayStart), claimedThisWeek: claimedSince(weekStart) });
    }
    const runId = randomUUID();
    const seed = this.random.hex(32);
    const spendableRaw = this.options.dryRunBalanceRaw - this.totalPaidOutRaw - MIN_OPERATOR_BALANCE_RAW;
    const plan = planSettlement(eligible, { dailyKillCap: BigInt(DAILY_KILL_CAP), weeklyKillCap: BigInt(WEEKLY_KILL_CAP), batchSize: 0, spendableRaw }, seed);
    const runMetadata: EventMetadata = { ...system('settlement-scheduler'), schemaVersion: 1 };
    const started: SettlementEvent = {
      type: 'SettlementRunStarted',
      data: {
        runId,
        seed,
        config: {
          dailyKillCap: DAILY_KILL_CAP,
          weeklyKillCap: WEEKLY_KILL_CAP,
          batchSize: 0,
          minOperatorBalanceRaw: MIN_OPERATOR_BALANCE_RAW.toString(),
          spendableRaw: spendableRaw.toString(),
          dryRun: true,
        },
        trigger: 'schedule',
        startedAt: now.toISOString(),
      },
    };
    this.emit(settlementStream(runId), [started], runMetadata, at);
    const requested: Array<{ user: SimUser; payoutId: string }> = [];
    for (const payout of plan.payouts) {
      const user = this.userById(payout.userId);
      const payoutId = randomUUID();
      this.userCommand(
        user,
        at,
        {
          type: 'RequestPayout',
          data: { payoutId, runId, gateway: 'dry-run', address: payout.address, kills: payout.kills, amountRaw: payout.amountRaw, idempotencyKey: payout.idempotencyKey, accruals: payout.accruals, requireVerifiedWallet: false, now },
        },
        { ...runMetadata, causationId: runId },
      );
      requested.push({ user, payoutId });
    }
    const completed: SettlementEvent = {
      type: 'SettlementRunCompleted',
      data: {
        runId,
        eligible: plan.eligible,
        payoutsRequested: plan.payouts.length,
        killsRequested: Number(plan.killsRequested),
        amountRequestedRaw: plan.amountRequestedRaw.toString(),
        deferredByCaps: plan.deferredByCaps,
        deferredByBudget: plan.deferredByBudget,
        skipped: 0,
        reason: null,
        completedAt: now.toISOString(),
      },
    };
    this.emit(settlementStream(runId), [completed], runMetadata, at);
    // The dry-run executor sends them one by one, oldest first, a moment later.
    let sentAt = at + 1_000;
    for (const { user, payoutId } of requested) {
      sentAt += 3;
      const failing = this.options.failingPayoutShare !== undefined && this.random.chance(this.options.failingPayoutShare);
      if (failing) sentAt = this.failPayout(user, payoutId, sentAt);
      if (!failing || this.stateOfPayout(user, payoutId) === 'requested') {
        this.userCommand(user, sentAt, { type: 'RecordPayoutSent', data: { payoutId, gateway: 'dry-run', blockHash: `dryrun-${payoutId}`, now: new Date(sentAt) } }, executorMetadata(payoutId));
      }
      if (!this.isEligible(user)) this.candidates.delete(user.index);
    }
  }

  /** Refused attempts until the payout fails, then an admin retries it (sent after) or cancels it. */
  private failPayout(user: SimUser, payoutId: string, from: number): number {
    const policy = { maxAttempts: 3, backoffBaseMs: 1_000, backoffMaxMs: 10_000 };
    let at = from;
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt += 1) {
      at += 1_000;
      this.userCommand(
        user,
        at,
        { type: 'RecordPayoutAttemptFailed', data: { payoutId, attempt, error: 'node refused the block: fork', blockHash: null, policy, now: new Date(at) } },
        executorMetadata(payoutId),
      );
    }
    at += 60_000;
    const admin = { correlationId: randomUUID(), causationId: null, actor: { kind: 'admin' as const, name: 'bench-admin' }, clientIp: '10.0.0.7' };
    if (this.random.chance(0.5)) this.userCommand(user, at, { type: 'RetryPayout', data: { payoutId, now: new Date(at) } }, admin);
    else this.userCommand(user, at, { type: 'CancelPayout', data: { payoutId, reason: 'wallet closed', now: new Date(at) } }, admin);
    return at + 1_000;
  }

  private stateOfPayout(user: SimUser, payoutId: string): string | null {
    return user.state.status === 'registered' ? (user.state.payouts.find((payout) => payout.payoutId === payoutId)?.status ?? null) : null;
  }

  private readonly usersById = new Map<string, SimUser>();

  private userById(userId: string): SimUser {
    if (this.usersById.size === 0) for (const user of this.users) this.usersById.set(user.userId, user);
    const user = this.usersById.get(userId);
    if (user === undefined) throw new Error(`No simulated user ${userId}`);
    return user;
  }

  /** A donation the ingester pocketed: the receive block it signed, and the milestones it reached. */
  private donation(at: number): void {
    const sender = this.donors[Math.floor(Math.pow(this.random.next(), 2) * this.donors.length)];
    const amountRaw = parseBan(`${this.random.int(1, 400)}.${this.random.int(0, 99).toString().padStart(2, '0')}`) as bigint;
    const sendHash = this.random.hex(64).toUpperCase();
    const balance = this.operatorBalanceRaw + amountRaw;
    const unsigned = {
      type: 'state' as const,
      account: this.operatorAddress,
      previous: this.operatorFrontier,
      representative: this.operatorAddress,
      balance: balance.toString(),
      link: sendHash,
      // The benchmark signs nothing: a signature's shape, not a real one (the read side never checks it).
      signature: this.random.hex(128).toUpperCase(),
    };
    const receiveHash = hashOf(unsigned);
    const block: StateBlock = { ...unsigned, work: this.random.hex(16) };
    const data: ReceiveRecordedData = { sendHash, sender, amountRaw: amountRaw.toString(), receiveHash, previous: this.operatorFrontier, block, receivedAt: new Date(at).toISOString() };
    const events = receiveRecordEvents({
      address: this.operatorAddress,
      operator: this.operator,
      elsewhere: NO_DONATIONS_ELSEWHERE,
      kind: 'DonationReceived',
      data,
      tiers: DEFAULT_MILESTONES,
      actor: { kind: 'system', name: 'donation-ingester' },
      correlationId: randomUUID(),
    });
    const reached = new Set(this.operator.milestonesReachedRaw);
    for (const event of events) if (event.type === 'MilestoneReached') reached.add(BigInt(String(event.data.thresholdRaw)));
    this.operator = { ...this.operator, donatedRaw: this.operator.donatedRaw + amountRaw, milestonesReachedRaw: reached };
    this.totalDonatedRaw += amountRaw;
    this.operatorBalanceRaw = balance;
    this.operatorFrontier = receiveHash;
    for (const event of events) this.emitOne(operatorStream(this.operatorAddress), event.id, event.type, event.data, event.metadata, at);
  }

  private emit(streamName: string, events: ReadonlyArray<UserEvent | SettlementEvent>, metadata: EventMetadata, at: number): void {
    for (const event of events) this.emitOne(streamName, randomUUID(), event.type, event.data as unknown as Record<string, unknown>, metadata, at);
  }

  private emitOne(streamName: string, id: string, type: string, data: Readonly<Record<string, unknown>>, metadata: EventMetadata, at: number): void {
    // Positions follow time: an event is never stamped before the one appended before it.
    this.lastAt = Math.max(this.lastAt, at);
    this.eventCount += 1;
    this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
    this.streams.set(streamName, (this.streams.get(streamName) ?? 0) + 1);
    this.out.push({ id, streamName, type, data, metadata, at: this.lastAt });
  }
}

function integration(name: string): CommandMetadata {
  return { correlationId: randomUUID(), causationId: null, actor: { kind: 'integration', name } };
}

function system(name: string): CommandMetadata {
  return { correlationId: randomUUID(), causationId: null, actor: { kind: 'system', name } };
}
