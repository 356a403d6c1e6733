/*
 * The public dashboard's script. It reads only the ledger's public query routes, the same ones any
 * integrator can call without a key:
 *
 *   GET /v1/leaderboard?by=kills|earned&limit=N   top players
 *   GET /v1/feed?limit=N                          recent accruals and payouts, newest first
 *   GET /v1/donations                             totals, milestones, rate factors, top donors
 *
 * Amounts are shown from the API's `…Ban` strings, reformatted as text: they are never parsed into
 * floating-point numbers. Everything is written into the page with textContent, never as HTML.
 */

// --- The shapes of the public routes ------------------------------------------------------------

type LeaderboardOrder = 'kills' | 'earned';

interface LeaderboardItem {
  readonly rank: number;
  readonly playerId: string;
  readonly displayName: string;
  readonly kills: number;
  readonly earnedBan: string;
  readonly paidBan: string;
}

interface Leaderboard {
  readonly by: LeaderboardOrder;
  readonly items: readonly LeaderboardItem[];
}

interface AccrualFeedItem {
  readonly kind: 'accrual';
  readonly at: string;
  readonly displayName: string;
  readonly accrualKey: string;
  readonly kills: number;
  readonly amountBan: string;
}

interface PayoutFeedItem {
  readonly kind: 'payout';
  readonly at: string;
  readonly displayName: string;
  readonly payoutId: string;
  readonly status: string;
  readonly kills: number;
  readonly amountBan: string;
  readonly blockHash: string | null;
  readonly blockUrl: string | null;
  readonly dryRun: boolean;
}

type FeedItem = AccrualFeedItem | PayoutFeedItem;

interface Feed {
  readonly gateway: 'dry-run' | 'live';
  readonly items: readonly FeedItem[];
}

interface Milestone {
  readonly thresholdBan: string;
  readonly multiplier: string;
  readonly name: string;
  readonly reached: boolean;
}

interface Donor {
  readonly address: string;
  readonly totalBan: string;
  readonly donationCount: number;
}

interface Donations {
  readonly totalDonatedBan: string;
  readonly donationCount: number;
  readonly goalBan: string;
  /** min(total / goal, 1) with 4 decimals: "0.0100" is 1 %. */
  readonly progress: string;
  readonly currentMilestone: Milestone;
  readonly nextMilestone: (Milestone & { readonly remainingBan: string }) | null;
  readonly milestones: readonly Milestone[];
  readonly multiplier: string;
  readonly sustainabilityFactor: string;
  readonly effectiveRatePerKillBan: string;
  readonly topDonors: readonly Donor[];
  /** Absent from services older than the dashboard: shown as "not configured". */
  readonly operatorAddress?: string | null;
}

// --- Settings -------------------------------------------------------------------------------------

const FEED_INTERVAL_MS = 5_000;
const LEADERBOARD_INTERVAL_MS = 15_000;
const DONATIONS_INTERVAL_MS = 15_000;
/** A request that has not answered by then counts as failed; the next refresh tries again. */
const REQUEST_TIMEOUT_MS = 10_000;
/** After a failure every source retries this soon, so the page recovers as soon as the API does. */
const RETRY_AFTER_FAILURE_MS = 5_000;
const LEADERBOARD_SIZE = 10;
const FEED_SIZE = 20;
const DONORS_SHOWN = 10;

// --- Formatting, on strings only ----------------------------------------------------------------

/**
 * A BAN amount as the API writes it ("12345.67800000") for reading: the whole part grouped by
 * thousands, trailing zeros dropped down to 2 decimals ("12,345.678"). Text in, text out.
 */
function formatBan(amount: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(amount);
  if (match === null) return amount;
  const [, sign, whole, fraction = ''] = match;
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const decimals = fraction.replace(/0+$/, '').padEnd(2, '0');
  return `${sign}${grouped}.${decimals}`;
}

/** "0.0125" (a fraction with 4 decimals) as "1.25 %", by moving the decimal point in the text. */
function formatPercent(progress: string): string {
  const match = /^(\d+)\.(\d{4})$/.exec(progress);
  if (match === null) return progress;
  const hundredths = `${match[1]}${match[2]}`.replace(/^0+/, '').padStart(3, '0');
  return `${hundredths.slice(0, -2)}.${hundredths.slice(-2)} %`;
}

/** A multiplier ("1.05") as "×1.05". */
const formatMultiplier = (multiplier: string): string => `×${multiplier}`;

/** A long address or hash shortened in the middle; the full text goes in a title. */
function shorten(text: string, head = 10, tail = 6): string {
  return text.length <= head + tail + 1 ? text : `${text.slice(0, head)}…${text.slice(-tail)}`;
}

function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

/** Only http(s) links are followed: a configured explorer URL, never a script. */
function safeHttpUrl(url: string | null): string | null {
  if (url === null) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

// --- The page -------------------------------------------------------------------------------------

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`The page has no #${id}`);
  return element as T;
}

/** An element with text and attributes; children are appended in order. */
function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: { readonly className?: string; readonly text?: string; readonly attributes?: Readonly<Record<string, string>> } = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.className !== undefined) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  for (const [name, value] of Object.entries(options.attributes ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function timeElement(iso: string): HTMLTimeElement {
  return element('time', { text: formatTime(iso), attributes: { datetime: iso, title: iso } });
}

// --- Talking to the API ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(
    readonly path: string,
    readonly status: number | null,
  ) {
    super(status === null ? `${path} did not answer` : `${path} answered ${status}`);
  }
}

/** GETs `path` as JSON: an ApiError when it does not answer or answers an error; whatever else it answers is the caller's to read. */
async function getJson<T>(path: string): Promise<T> {
  const route = path.split('?')[0];
  const controller = new AbortController();
  const timer = window.setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    let response: Response;
    try {
      response = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store', signal: controller.signal });
    } catch {
      throw new ApiError(route, null);
    }
    if (!response.ok) throw new ApiError(route, response.status);
    return (await response.json()) as T;
  } finally {
    window.clearTimeout(timer);
  }
}

// --- Status: the error banner and "Last updated" --------------------------------------------------

const failures = new Map<string, string>();

function reportSuccess(source: string): true {
  failures.delete(source);
  const now = new Date();
  const updated = byId<HTMLTimeElement>('last-updated');
  updated.dateTime = now.toISOString();
  updated.textContent = now.toLocaleTimeString();
  renderErrors();
  return true;
}

function reportFailure(source: string, error: unknown): false {
  const reason = error instanceof ApiError ? error.message : `${source} sent an answer this page cannot read`;
  failures.set(source, reason);
  renderErrors();
  return false;
}

/** The alert's text changes only when the failures do, so a screen reader announces each once. */
function renderErrors(): void {
  const banner = byId('error-banner');
  const text =
    failures.size === 0
      ? ''
      : `The ledger API is not answering (${[...failures.values()].join('; ')}). The figures below may be out of date; the page keeps retrying.`;
  if (banner.textContent !== text) banner.textContent = text;
}

/** A section that has shown data keeps it through a failure; one that never had any says so. */
function settle(sectionId: string, outcome: 'loaded' | 'failed'): void {
  const section = byId(sectionId);
  const hadData = section.dataset.loaded === 'true';
  section.setAttribute('aria-busy', 'false');
  for (const skeleton of section.querySelectorAll('.skeleton-row, .skeleton')) skeleton.remove();
  if (outcome === 'loaded') section.dataset.loaded = 'true';
  byId(`${sectionId}-unavailable`).hidden = outcome === 'loaded' || hadData;
}

/**
 * Runs `task` now and then every `intervalMs` after it finishes (sooner after a failure), so two
 * runs of one task never overlap; `refresh()` asks for a run now, or right after the one in
 * flight. A hidden tab skips its runs and catches up as soon as it is shown again. The task
 * answers whether it succeeded.
 */
class Poller {
  private timer: number | undefined;
  private running = false;
  private again = false;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => Promise<boolean>,
  ) {}

  refresh(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    window.clearTimeout(this.timer);
    void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    let succeeded = true;
    try {
      if (!document.hidden) succeeded = await this.task();
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        void this.run();
      } else {
        this.timer = window.setTimeout(() => void this.run(), succeeded ? this.intervalMs : Math.min(this.intervalMs, RETRY_AFTER_FAILURE_MS));
      }
    }
  }
}

// --- Leaderboard ----------------------------------------------------------------------------------

let leaderboardOrder: LeaderboardOrder = 'kills';

const ORDER_CAPTIONS: Readonly<Record<LeaderboardOrder, string>> = {
  kills: 'Top players by kills',
  earned: 'Top players by BAN earned',
};

async function refreshLeaderboard(): Promise<boolean> {
  const order = leaderboardOrder;
  try {
    const leaderboard = await getJson<Leaderboard>(`/v1/leaderboard?by=${order}&limit=${LEADERBOARD_SIZE}`);
    // The order was switched while this answer was on its way: the next run brings the right one.
    if (order !== leaderboardOrder) return true;
    renderLeaderboard(leaderboard);
    settle('leaderboard', 'loaded');
    return reportSuccess('leaderboard');
  } catch (error) {
    settle('leaderboard', 'failed');
    // A table that never had rows is not shown empty: the message below it says why.
    if (byId('leaderboard').dataset.loaded !== 'true') byId('leaderboard-table').hidden = true;
    return reportFailure('leaderboard', error);
  }
}

function renderLeaderboard(leaderboard: Leaderboard): void {
  const rows = leaderboard.items.map((item) =>
    element(
      'tr',
      {},
      element('td', { className: 'numeric', text: String(item.rank) }),
      element('td', { text: item.displayName }),
      element('td', { className: 'numeric', text: String(item.kills) }),
      element('td', { className: 'numeric', text: formatBan(item.earnedBan) }),
      element('td', { className: 'numeric', text: formatBan(item.paidBan) }),
    ),
  );
  byId('leaderboard-rows').replaceChildren(...rows);
  byId('leaderboard-caption').textContent = ORDER_CAPTIONS[leaderboard.by] ?? ORDER_CAPTIONS.kills;
  byId('leaderboard-table').hidden = rows.length === 0;
  byId('leaderboard-empty').hidden = rows.length > 0;
}

function chooseOrder(order: LeaderboardOrder, poller: Poller): void {
  if (order === leaderboardOrder) return;
  leaderboardOrder = order;
  for (const button of document.querySelectorAll<HTMLButtonElement>('.toggle button')) {
    button.setAttribute('aria-pressed', String(button.dataset.by === order));
  }
  byId('leaderboard-caption').textContent = ORDER_CAPTIONS[order];
  byId('leaderboard').setAttribute('aria-busy', 'true');
  poller.refresh();
}

// --- Donations ------------------------------------------------------------------------------------

async function refreshDonations(): Promise<boolean> {
  try {
    renderDonations(await getJson<Donations>('/v1/donations'));
    settle('donations', 'loaded');
    return reportSuccess('donations');
  } catch (error) {
    settle('donations', 'failed');
    return reportFailure('donations', error);
  }
}

function renderDonations(donations: Donations): void {
  byId('total-donated').textContent = `${formatBan(donations.totalDonatedBan)} BAN`;
  byId('goal-amount').textContent = `${formatBan(donations.goalBan)} BAN`;
  byId('goal-percent').textContent = formatPercent(donations.progress);
  // The bar is drawn from the API's own decimal string; no arithmetic is done on it.
  const progress = byId<HTMLProgressElement>('goal-progress');
  progress.setAttribute('value', donations.progress);
  progress.textContent = formatPercent(donations.progress);

  const next = donations.nextMilestone;
  byId('next-milestone').textContent =
    next === null
      ? `Every milestone is reached: ${donations.currentMilestone.name} (${formatMultiplier(donations.currentMilestone.multiplier)}).`
      : `Next milestone: ${next.name} at ${formatBan(next.thresholdBan)} BAN, ${formatBan(next.remainingBan)} BAN to go, for ${formatMultiplier(next.multiplier)} per kill.`;
  byId('multiplier').textContent = formatMultiplier(donations.multiplier);
  byId('sustainability-factor').textContent = formatMultiplier(donations.sustainabilityFactor);
  byId('effective-rate').textContent = `${formatBan(donations.effectiveRatePerKillBan)} BAN`;

  byId('milestones').replaceChildren(...donations.milestones.map((tier) => milestoneItem(tier, donations)));

  const donors = donations.topDonors.slice(0, DONORS_SHOWN).map((donor) =>
    element(
      'li',
      {},
      element('code', { className: 'address', text: shorten(donor.address, 12, 6), attributes: { title: donor.address } }),
      element('span', { text: `${formatBan(donor.totalBan)} BAN` }),
    ),
  );
  byId('top-donors').replaceChildren(...donors);
  byId('top-donors').hidden = donors.length === 0;
  byId('donors-empty').hidden = donors.length > 0;

  renderOperator(donations.operatorAddress ?? null);
}

function milestoneItem(tier: Milestone, donations: Donations): HTMLLIElement {
  const isCurrent = tier.thresholdBan === donations.currentMilestone.thresholdBan;
  const isNext = donations.nextMilestone !== null && tier.thresholdBan === donations.nextMilestone.thresholdBan;
  const state = isCurrent ? 'Reached · current tier' : tier.reached ? 'Reached' : isNext ? `Next · ${formatBan(donations.nextMilestone?.remainingBan ?? '')} BAN to go` : 'Not reached';
  const item = element(
    'li',
    { className: ['milestone', tier.reached ? 'reached' : 'locked', isNext ? 'next' : ''].filter(Boolean).join(' ') },
    element('span', { className: 'tier-name', text: tier.name }),
    element('span', { className: 'tier-threshold', text: `${formatBan(tier.thresholdBan)} BAN` }),
    element('span', { className: 'tier-multiplier', text: formatMultiplier(tier.multiplier) }),
    element('span', { className: 'tier-state', text: state }),
  );
  if (isCurrent) item.setAttribute('aria-current', 'step');
  return item;
}

let shownOperatorAddress: string | null = null;

function renderOperator(address: string | null): void {
  byId('operator-none').hidden = address !== null;
  byId('operator-known').hidden = address === null;
  if (address === null || address === shownOperatorAddress) return;
  shownOperatorAddress = address;
  byId('operator-address').textContent = address;
  const qr = byId<HTMLImageElement>('operator-qr');
  qr.alt = `QR code of ban:${address}`;
  // The server draws the address it has now; the query only makes a changed address a new image.
  qr.src = `/dashboard/operator-qr.svg?address=${encodeURIComponent(address)}`;
}

// --- Feed -------------------------------------------------------------------------------------------

async function refreshFeed(): Promise<boolean> {
  try {
    renderFeed(await getJson<Feed>(`/v1/feed?limit=${FEED_SIZE}`));
    settle('feed', 'loaded');
    return reportSuccess('feed');
  } catch (error) {
    settle('feed', 'failed');
    return reportFailure('feed', error);
  }
}

function renderFeed(feed: Feed): void {
  const dryRun = feed.gateway === 'dry-run';
  const mode = byId('gateway-mode');
  mode.hidden = false;
  mode.className = dryRun ? 'gateway-mode dry-run' : 'gateway-mode live';
  mode.textContent = dryRun ? 'dry-run: payouts are simulated, nothing is sent on chain' : 'live: payouts are sent on the Banano chain';
  const feedMode = byId('feed-mode');
  feedMode.hidden = !dryRun;
  feedMode.textContent = dryRun ? 'dry-run — these payouts are simulated: no BAN leaves the operator wallet.' : '';

  const list = byId('feed-items');
  const shown = new Map<string, { readonly signature: string; readonly node: HTMLLIElement }>();
  const nodes = feed.items.map((item) => {
    const key = item.kind === 'payout' ? `payout:${item.payoutId}` : `accrual:${item.accrualKey}`;
    const signature = JSON.stringify(item);
    const known = feedNodes.get(key);
    const node = known !== undefined && known.signature === signature ? known.node : item.kind === 'payout' ? payoutItem(item) : accrualItem(item);
    shown.set(key, { signature, node });
    return node;
  });
  feedNodes = shown;
  updateChildren(list, nodes);
  list.hidden = nodes.length === 0;
  byId('feed-empty').hidden = nodes.length > 0;
}

/** The feed's items on the page, by payout or accrual id, with the answer each was drawn from. */
let feedNodes = new Map<string, { readonly signature: string; readonly node: HTMLLIElement }>();

/**
 * Makes `nodes` the children of `list` while leaving in place every node that stays, so a block
 * link that has the keyboard focus keeps it when newer items arrive above it. Newest first, the
 * items that stay keep their order, so they are never moved: new ones are inserted, old ones removed.
 */
function updateChildren(list: HTMLElement, nodes: readonly HTMLElement[]): void {
  const wanted = new Set<Element>(nodes);
  for (const child of [...list.children]) if (!wanted.has(child)) child.remove();
  let cursor = list.firstElementChild;
  for (const node of nodes) {
    if (node === cursor) {
      cursor = cursor.nextElementSibling;
    } else {
      list.insertBefore(node, cursor);
    }
  }
}

const killsText = (kills: number): string => `${kills} ${kills === 1 ? 'kill' : 'kills'}`;

function accrualItem(item: AccrualFeedItem): HTMLLIElement {
  return element(
    'li',
    { className: 'feed-item accrual' },
    timeElement(item.at),
    element('p', {}, element('span', { className: 'who', text: item.displayName }), ' earned ', element('strong', { text: `${formatBan(item.amountBan)} BAN` }), ` for ${killsText(item.kills)}`),
  );
}

function payoutItem(item: PayoutFeedItem): HTMLLIElement {
  const block = element('p', { className: 'block' });
  const href = safeHttpUrl(item.blockUrl);
  if (item.dryRun) block.append(element('span', { className: 'badge dry-run', text: 'dry-run' }), ' ');
  if (item.blockHash !== null && href !== null) {
    block.append('Block ', element('a', { text: shorten(item.blockHash), attributes: { href, rel: 'noopener noreferrer', title: item.blockHash } }));
  } else if (item.blockHash !== null) {
    block.append('Block ', element('code', { text: shorten(item.blockHash), attributes: { title: item.blockHash } }));
  } else {
    block.append('No block yet');
  }
  return element(
    'li',
    { className: 'feed-item payout' },
    timeElement(item.at),
    element(
      'p',
      {},
      'Payout of ',
      element('strong', { text: `${formatBan(item.amountBan)} BAN` }),
      ' to ',
      element('span', { className: 'who', text: item.displayName }),
      ` for ${killsText(item.kills)} `,
      element('span', { className: `badge status-${item.status}`, text: item.status }),
    ),
    block,
  );
}

// --- Start ----------------------------------------------------------------------------------------

function start(): void {
  const leaderboard = new Poller(LEADERBOARD_INTERVAL_MS, refreshLeaderboard);
  const donations = new Poller(DONATIONS_INTERVAL_MS, refreshDonations);
  const feed = new Poller(FEED_INTERVAL_MS, refreshFeed);
  for (const button of document.querySelectorAll<HTMLButtonElement>('.toggle button')) {
    button.addEventListener('click', () => chooseOrder(button.dataset.by === 'earned' ? 'earned' : 'kills', leaderboard));
  }
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    for (const poller of [feed, leaderboard, donations]) poller.refresh();
  });
  for (const poller of [feed, leaderboard, donations]) poller.refresh();
}

start();

// A module, not a script: nothing here becomes a global of the page.
export {};
