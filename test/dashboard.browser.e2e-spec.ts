import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { toString as qrToString } from 'qrcode';
import { projectRoot } from '../src/platform/config/project-root';
import { call, donateFrom, earner, type Earner, newBananoAccount, withLiveApp } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

/*
 * The public dashboard at `/` (issue: the dashboard page), driven in headless Chromium: Debian's
 * `chromium` through playwright-core, which never downloads a browser. Data is seeded through the
 * API only, as an integration would; the page is then read as a visitor sees it, and used with
 * the keyboard alone. `npm test` needs Chromium: without it this suite fails and says how to
 * install it (`.ci/run` installs it first).
 */

/*
 * The functions given to page.evaluate run in the browser. The project compiles as a Node service,
 * without TypeScript's DOM library, so the little of the DOM they use is declared here, for this
 * file alone.
 */
interface BrowserElement {
  readonly id: string;
  readonly tagName: string;
  readonly textContent: string | null;
  /** The text as rendered, with a line break between blocks. */
  readonly innerText: string;
  readonly classList: { contains(name: string): boolean };
  readonly parentElement: BrowserElement | null;
  /** An image's intrinsic width; a progress bar's position. */
  readonly naturalWidth?: number;
  readonly position?: number;
  getAttribute(name: string): string | null;
  getClientRects(): { readonly length: number };
  closest(selector: string): BrowserElement | null;
}
declare const document: {
  readonly activeElement: BrowserElement | null;
  readonly body: BrowserElement;
  querySelector(selector: string): BrowserElement | null;
  querySelectorAll(selector: string): Iterable<BrowserElement> & { readonly length: number };
};
declare function getComputedStyle(element: BrowserElement): { readonly color: string; readonly backgroundColor: string };

const BAN = 10n ** 29n;
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const SCREENSHOT = join(projectRoot(), 'test-output', 'dashboard.png');
/** How long the page may take to show what the API answers: its refresh runs every 5 s at most. */
const PAGE_WAIT_MS = 20_000;

function chromiumExecutable(): string {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'The dashboard browser test needs Chromium, and `which chromium` finds none. Install it with `apt-get install -y chromium` ' +
        '(sudo when not root; .ci/run does this), then run npm test again. playwright-core never downloads a browser.',
    );
  }
}

/** WCAG 2 relative luminance of an sRGB colour. */
function luminance([red, green, blue]: readonly number[]): number {
  const linear = (channel: number): number => {
    const value = channel / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue);
}

/** WCAG 2 contrast ratio of two CSS rgb() colours, from 1 to 21. */
function contrastRatio(foreground: string, background: string): number {
  const channels = (colour: string): number[] => {
    const match = /^rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)$/.exec(colour);
    if (match === null) throw new Error(`not an rgb() colour: ${colour}`);
    if (match[4] !== undefined && Number(match[4]) < 1) throw new Error(`a translucent colour cannot be measured alone: ${colour}`);
    return [Number(match[1]), Number(match[2]), Number(match[3])];
  };
  const [lighter, darker] = [luminance(channels(foreground)), luminance(channels(background))].sort((a, b) => b - a);
  return (lighter + 0.05) / (darker + 0.05);
}

/**
 * The text colour of the first element each selector matches, against the first opaque background
 * behind it. Selectors that match nothing visible are reported, so the list cannot go stale.
 */
async function contrastProblems(page: Page, selectors: readonly string[]): Promise<string[]> {
  const pairs = await page.evaluate((list) => {
    const opaque = (colour: string): boolean => colour !== 'transparent' && !/rgba\(.*, 0\)$/.test(colour);
    return list.map((selector) => {
      const target = [...document.querySelectorAll(selector)].find((candidate) => candidate.getClientRects().length > 0);
      if (target === undefined) return { selector, foreground: null, background: null };
      let at: BrowserElement | null = target;
      let background = 'rgb(255, 255, 255)';
      while (at !== null) {
        const colour = getComputedStyle(at).backgroundColor;
        if (opaque(colour)) {
          background = colour;
          break;
        }
        at = at.parentElement;
      }
      return { selector, foreground: getComputedStyle(target).color, background };
    });
  }, selectors);
  return pairs.flatMap(({ selector, foreground, background }) => {
    if (foreground === null || background === null) return [`${selector} matches nothing visible`];
    const ratio = contrastRatio(foreground, background);
    return ratio >= 4.5 ? [] : [`${selector}: ${foreground} on ${background} is ${ratio.toFixed(2)}:1`];
  });
}

/** The levels of the visible headings, in document order. */
const headingLevels = (page: Page): Promise<number[]> =>
  page.$$eval('h1, h2, h3, h4, h5, h6', (headings) => headings.filter((heading) => heading.getClientRects().length > 0).map((heading) => Number(heading.tagName.slice(1))));

/**
 * Each visible interactive element, named by tag, id, href and text, and the elements that
 * pressing Tab from the top of the page focuses, named the same way.
 */
async function tabReachability(page: Page): Promise<{ interactive: string[]; reached: string[] }> {
  const interactive = await page.$$eval('a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])', (elements) =>
    elements
      .filter((element) => element.closest('[hidden]') === null && element.getClientRects().length > 0)
      .map((element) => [element.tagName.toLowerCase(), element.id, element.getAttribute('href') ?? '', (element.textContent ?? '').trim().slice(0, 40)].join('|')),
  );
  await page.mouse.click(1, 1);
  const reached: string[] = [];
  for (let press = 0; press < interactive.length + 5; press += 1) {
    await page.keyboard.press('Tab');
    reached.push(
      await page.evaluate(() => {
        const element = document.activeElement;
        if (element === null || element === document.body) return 'body';
        return [element.tagName.toLowerCase(), element.id, element.getAttribute('href') ?? '', (element.textContent ?? '').trim().slice(0, 40)].join('|');
      }),
    );
  }
  return { interactive, reached };
}

/** Loads `/` and waits until every section has had its first answer (or failure). */
async function openDashboard(page: Page, app: TestApp): Promise<void> {
  await page.goto(`${app.baseUrl}/`, { waitUntil: 'load' });
  await page.waitForFunction(() => [...document.querySelectorAll('main section')].every((section) => section.getAttribute('aria-busy') === 'false'), undefined, { timeout: PAGE_WAIT_MS });
}

/** The leaderboard's rows as the page shows them. */
const leaderboardRows = (page: Page): Promise<string[][]> =>
  page.$$eval('#leaderboard-rows tr', (rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => (cell.textContent ?? '').trim())));

const masked = (player: Earner): string => `••••${player.discordUserId.slice(-4)}`;

/** A page that records what the console and the page report as errors (CSP violations among them). */
async function newPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, errors };
}

/** A server of another origin, holding the banner image PRODUCT_BANNER_URL names. */
async function startBannerServer(): Promise<{ url: string; server: Server }> {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="160"><rect width="1200" height="160" fill="#2b3a1f"/></svg>';
  const server = createServer((request, response) => {
    if (request.url !== '/banner.svg') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'image/svg+xml' }).end(svg);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/banner.svg`, server };
}

describe('the public dashboard at / in headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: chromiumExecutable(), headless: true, args: CHROMIUM_FLAGS });
  });

  afterAll(async () => {
    await browser?.close();
  });

  describe('on a dry-run ledger', () => {
    let app: TestApp;
    let banner: { url: string; server: Server };
    const players: Record<'ace' | 'bee' | 'cy', Earner> = {} as never;

    beforeAll(async () => {
      banner = await startBannerServer();
      app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0', PRODUCT_NAME: 'Slay & <Pay>', PRODUCT_BANNER_URL: banner.url });
    });

    afterAll(async () => {
      await app?.close();
      await new Promise((resolve) => banner?.server.close(resolve));
    });

    it('shows a fresh ledger as empty, says dry-run plainly, and is titled by PRODUCT_NAME with its banner', async () => {
      const { page, errors } = await newPage(browser);
      await openDashboard(page, app);

      expect(await page.title()).toBe('Slay & <Pay> · live dashboard');
      expect(await page.textContent('h1')).toBe('Slay & <Pay>');
      expect(await page.$eval('img.banner', (image) => (image as BrowserElement).naturalWidth)).toBe(1200);
      expect(await page.isVisible('#leaderboard-empty')).toBe(true);
      expect(await page.isVisible('#leaderboard-table')).toBe(false);
      expect(await page.isVisible('#feed-empty')).toBe(true);
      expect(await page.isVisible('#donors-empty')).toBe(true);
      expect(await page.isVisible('#operator-none')).toBe(true);
      expect(await page.textContent('#total-donated')).toBe('0.00 BAN');
      expect(await page.textContent('#goal-percent')).toBe('0.00 %');
      expect(await page.getAttribute('#goal-progress', 'value')).toBe('0.0000');
      expect(await page.textContent('#next-milestone')).toBe('Next milestone: First Blood at 100.00 BAN, 100.00 BAN to go, for ×1.05 per kill.');
      expect(await page.textContent('#gateway-mode')).toMatch(/^dry-run/);
      expect(await page.isVisible('#gateway-mode')).toBe(true);
      expect(await page.textContent('#error-banner')).toBe('');
      expect(await page.textContent('#last-updated')).not.toBe('not yet');
      expect(await page.$$eval('.skeleton', (skeletons) => skeletons.length)).toBe(0);
      expect(await contrastProblems(page, ['.empty', '.gateway-mode.dry-run'])).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);

    it('shows the seeded leaderboard, switches it to BAN earned by keyboard, and feeds accruals and dry-run payouts as they happen', async () => {
      // ace and bee earn 0.10 BAN a kill; cy joins after the base rate went up, so fewer kills earn more.
      players.ace = await earner(app, 30);
      players.bee = await earner(app, 12);
      expect((await call(app, 'PUT', '/v1/admin/config/payout', { banPerKill: '1' })).status).toBe(200);
      players.cy = await earner(app, 5);
      await synced(app);
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).body).toMatchObject({ payoutsRequested: 3 });
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 3, failed: 0 });
      await synced(app);

      const { page, errors } = await newPage(browser);
      await openDashboard(page, app);
      const { ace, bee, cy } = players;
      expect(await page.textContent('#leaderboard-caption')).toBe('Top players by kills');
      expect(await leaderboardRows(page)).toEqual([
        ['1', masked(ace), '30', '3.00', '3.00'],
        ['2', masked(bee), '12', '1.20', '1.20'],
        ['3', masked(cy), '5', '10.00', '10.00'],
      ]);
      // Discord ids never show in full (DASHBOARD_SHOW_DISCORD_IDS is off).
      expect(await page.content()).not.toContain(ace.discordUserId);

      // By keyboard alone: Tab to "By BAN earned", then Enter.
      await page.mouse.click(1, 1);
      for (let press = 0; press < 10 && (await page.evaluate(() => document.activeElement?.id)) !== 'by-earned'; press += 1) await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('by-earned');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelector('#leaderboard-rows tr td:nth-child(4)')?.textContent === '10.00', undefined, { timeout: PAGE_WAIT_MS });
      expect(await page.textContent('#leaderboard-caption')).toBe('Top players by BAN earned');
      expect(await page.getAttribute('#by-earned', 'aria-pressed')).toBe('true');
      expect(await page.getAttribute('#by-kills', 'aria-pressed')).toBe('false');
      expect((await leaderboardRows(page)).map((row) => row[1])).toEqual([masked(cy), masked(ace), masked(bee)]);

      // The feed: three accruals and three dry-run payouts, each payout marked dry-run, no block link.
      const feed = await page.$$eval('#feed-items .feed-item', (items) => items.map((item) => ({ kind: item.classList.contains('payout') ? 'payout' : 'accrual', text: (item as BrowserElement).innerText.replace(/\s+/g, ' ').trim() })));
      expect(feed.filter((item) => item.kind === 'accrual').map((item) => item.text.replace(/^.*?••••/, '••••')).sort()).toEqual(
        [`${masked(ace)} earned 3.00 BAN for 30 kills`, `${masked(bee)} earned 1.20 BAN for 12 kills`, `${masked(cy)} earned 10.00 BAN for 5 kills`].sort(),
      );
      const payouts = feed.filter((item) => item.kind === 'payout');
      expect(payouts).toHaveLength(3);
      for (const payout of payouts) expect(payout.text).toMatch(/Payout of [\d.]+ BAN to ••••\d{4} for \d+ kills sent dry-run Block dryrun-/);
      expect(await page.$$eval('#feed-items .payout a', (links) => links.length)).toBe(0);
      expect(await page.isVisible('#feed-mode')).toBe(true);
      expect(await page.textContent('#feed-mode')).toMatch(/^dry-run/);
      expect(await contrastProblems(page, ['.feed-mode', '.badge.dry-run', '.feed-item .block code'])).toEqual([]);

      // It refreshes by itself: a new accrual shows up without a reload.
      await call(app, 'POST', `/v1/users/${bee.userId}/kills`, { lifetimeKills: 14 });
      await page.waitForFunction(() => (document.querySelector('#feed-items .feed-item')?.textContent ?? '').includes('for 2 kills'), undefined, { timeout: PAGE_WAIT_MS });
      expect(await page.textContent('#feed-items .feed-item')).toContain(`${masked(bee)} earned 4.00 BAN for 2 kills`);
      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);

    it('says when the API is down, keeps what it showed, and clears the alert when the API answers again', async () => {
      const { page } = await newPage(browser);
      // A first visit while the API is down: every section says it could not load.
      const api = (url: URL): boolean => url.pathname.startsWith('/v1/');
      await page.route(api, (route) => route.fulfill({ status: 503, contentType: 'application/problem+json', body: '{"status":503,"code":"event_store_unavailable"}' }));
      await openDashboard(page, app);
      const alert = page.getByRole('alert');
      expect(await alert.textContent()).toMatch(/^The ledger API is not answering \(.*\/v1\/feed answered 503.*\)/);
      expect(await alert.textContent()).toContain('/v1/leaderboard answered 503');
      expect(await alert.textContent()).toContain('/v1/donations answered 503');
      for (const id of ['leaderboard', 'donations', 'feed']) expect(await page.isVisible(`#${id}-unavailable`)).toBe(true);
      expect(await contrastProblems(page, ['.error-banner', '.unavailable'])).toEqual([]);

      // The API comes back: the alert clears by itself and the data shows.
      await page.unroute(api);
      await page.waitForFunction(() => document.querySelector('[role="alert"]')?.textContent === '', undefined, { timeout: PAGE_WAIT_MS });
      expect(await page.isVisible('#error-banner')).toBe(false);
      await page.waitForFunction(() => document.querySelector('#leaderboard')?.getAttribute('data-loaded') === 'true', undefined, { timeout: PAGE_WAIT_MS });
      expect(await leaderboardRows(page)).toHaveLength(3);
      for (const id of ['leaderboard', 'donations', 'feed']) expect(await page.isVisible(`#${id}-unavailable`)).toBe(false);

      // Down again after data was shown: the alert returns, the rows stay.
      await page.route((url) => url.pathname === '/v1/feed', (route) => route.fulfill({ status: 503, contentType: 'application/problem+json', body: '{}' }));
      await page.waitForFunction(() => (document.querySelector('[role="alert"]')?.textContent ?? '').includes('/v1/feed answered 503'), undefined, { timeout: PAGE_WAIT_MS });
      expect(await page.$$eval('#feed-items .feed-item', (items) => items.length)).toBeGreaterThan(0);
      expect(await page.isVisible('#feed-unavailable')).toBe(false);
      await page.close();
    }, 120_000);
  });

  it('on a live ledger: donation progress and the milestone ladder, rates, donors, the operator QR code, block links; accessible; screenshot', async () => {
    await withLiveApp({ openWithRaw: 100n * BAN }, async ({ app, node, operator, ingester }) => {
      const donor = await newBananoAccount();
      await donateFrom(node, donor, operator.address, 150n * BAN);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1 });
      const player = await earner(app, 20);
      await synced(app);
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).body).toMatchObject({ payoutsRequested: 1 });
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      await synced(app);
      const feedAnswer = await call(app, 'GET', '/v1/feed');
      const sent = (feedAnswer.body.items as Array<Record<string, unknown>>).find((item) => item.kind === 'payout');
      expect(sent).toMatchObject({ status: 'sent', dryRun: false, blockUrl: expect.stringMatching(/^https:\/\//) });

      const { page, errors } = await newPage(browser);
      await openDashboard(page, app);

      // Donations: 150 of 10,000 BAN is 1.50 %; First Blood (×1.05) reached, Loot Drop next.
      expect(await page.textContent('#total-donated')).toBe('150.00 BAN');
      expect(await page.textContent('#goal-amount')).toBe('10,000.00 BAN');
      expect(await page.textContent('#goal-percent')).toBe('1.50 %');
      expect(await page.getAttribute('#goal-progress', 'value')).toBe('0.0150');
      expect(await page.$eval('#goal-progress', (bar) => (bar as BrowserElement).position)).toBeCloseTo(0.015, 6);
      expect(await page.textContent('#next-milestone')).toBe('Next milestone: Loot Drop at 500.00 BAN, 350.00 BAN to go, for ×1.10 per kill.');
      const ladder = await page.$$eval('#milestones li', (items) =>
        items.map((item) => ({ name: item.querySelector('.tier-name')?.textContent, state: item.querySelector('.tier-state')?.textContent, className: item.className, current: item.getAttribute('aria-current') })),
      );
      expect(ladder).toHaveLength(10);
      expect(ladder.slice(0, 4)).toEqual([
        { name: 'Fresh Spawn', state: 'Reached', className: 'milestone reached', current: null },
        { name: 'First Blood', state: 'Reached · current tier', className: 'milestone reached', current: 'step' },
        { name: 'Loot Drop', state: 'Next · 350.00 BAN to go', className: 'milestone locked next', current: null },
        { name: 'Supply Drop', state: 'Not reached', className: 'milestone locked', current: null },
      ]);
      expect(ladder.slice(4).every((tier) => tier.state === 'Not reached')).toBe(true);
      expect(await page.textContent('#multiplier')).toBe('×1.05');
      expect(await page.textContent('#sustainability-factor')).toBe('×2.0000');
      expect(await page.textContent('#effective-rate')).toBe('0.105 BAN');
      expect(await page.$$eval('#top-donors li', (items) => items.map((item) => [item.querySelector('code')?.getAttribute('title'), item.querySelector('span')?.textContent]))).toEqual([
        [donor.address, '150.00 BAN'],
      ]);

      // The operator address as text and as a QR code drawn by the service.
      expect(await page.textContent('#operator-address')).toBe(operator.address);
      await page.waitForFunction(() => (document.querySelector('#operator-qr')?.naturalWidth ?? 0) > 0, undefined, { timeout: PAGE_WAIT_MS });
      expect(await page.$eval('#operator-qr', (image) => (image as BrowserElement).naturalWidth)).toBe(240);
      expect(await page.getAttribute('#operator-qr', 'alt')).toBe(`QR code of ban:${operator.address}`);

      // Live: no dry-run marker; the payout links to its block on the explorer.
      expect(await page.textContent('#gateway-mode')).toMatch(/^live/);
      expect(await page.isVisible('#feed-mode')).toBe(false);
      expect(await page.getAttribute('#feed-items .payout .block a', 'href')).toBe(sent?.blockUrl);
      expect(await page.getAttribute('#feed-items .payout .block a', 'title')).toBe(sent?.blockHash);
      expect(await leaderboardRows(page)).toEqual([['1', masked(player), '20', '2.10', '2.10']]);

      // Accessibility: one h1, headings never skip a level, everything interactive is reached by Tab, AA contrast.
      const levels = await headingLevels(page);
      expect(levels.filter((level) => level === 1)).toHaveLength(1);
      expect(levels[0]).toBe(1);
      expect(levels.filter((level, index) => index > 0 && level > levels[index - 1] + 1)).toEqual([]);
      const { interactive, reached } = await tabReachability(page);
      expect(interactive.length).toBeGreaterThanOrEqual(5);
      expect(interactive.filter((name) => !reached.includes(name))).toEqual([]);
      expect(reached[0]).toMatch(/^a\|\|#main\|/);
      expect(
        await contrastProblems(page, [
          'body',
          'h1',
          'h2',
          'h3',
          '.tagline',
          '.last-updated',
          '.gateway-mode',
          'caption',
          'th',
          'td',
          '.toggle button[aria-pressed="true"]',
          '.toggle button[aria-pressed="false"]',
          '.total-donated strong',
          '.goal-label',
          '.next-milestone',
          '.rates dt',
          '.rates dd',
          '.milestone.reached .tier-state',
          '.milestone.next .tier-state',
          '.milestone.locked:not(.next) .tier-state',
          '.donors code',
          '.operator .address',
          '.feed-item time',
          '.feed-item .block',
          '.feed-item .block a',
          '.badge.status-sent',
          '.site-footer',
          '.site-footer a',
        ]),
      ).toEqual([]);
      expect(errors).toEqual([]);

      await page.mouse.click(1, 1);
      mkdirSync(join(projectRoot(), 'test-output'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      await page.close();
    });
  }, 180_000);

  it('writes whatever the API answers as text: markup in names, hashes, addresses and labels is shown, never run or inserted', async () => {
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    try {
      const { page, errors } = await newPage(browser);
      // Each text field the page shows, as an API that was not this ledger (or a hostile proxy) might answer it.
      const hostile = (field: string): string => `<img src="/x" id="injected-${field}"><b>${field}</b>`;
      const answers: Record<string, unknown> = {
        '/v1/leaderboard': { by: 'kills', items: [{ rank: 1, playerId: 'p', displayName: hostile('name'), kills: 1, earnedBan: '1.00000000', paidBan: '0.00000000' }] },
        '/v1/feed': {
          gateway: 'live',
          items: [
            { kind: 'payout', at: '2026-01-15T18:50:00.000Z', displayName: hostile('payee'), payoutId: 'x', status: hostile('status'), kills: 1, amountBan: hostile('amount'), blockHash: hostile('hash'), blockUrl: 'javascript:alert(1)', dryRun: false },
            { kind: 'accrual', at: hostile('at'), displayName: hostile('earner'), accrualKey: 'k', kills: 1, amountBan: '1.00000000' },
          ],
        },
        '/v1/donations': {
          totalDonatedBan: '0.00000000',
          donationCount: 0,
          goalBan: '10000.00000000',
          progress: '0.0000',
          currentMilestone: { thresholdBan: '0.00000000', multiplier: '1.00', name: hostile('tier'), reached: true },
          nextMilestone: null,
          milestones: [{ thresholdBan: '0.00000000', multiplier: '1.00', name: hostile('tier'), reached: true }],
          multiplier: '1.00',
          sustainabilityFactor: '1.00',
          effectiveRatePerKillBan: '0.05000000',
          topDonors: [{ address: hostile('donor'), totalBan: '1.00000000', donationCount: 1 }],
          operatorAddress: hostile('operator'),
        },
      };
      await page.route(
        (url) => url.pathname in answers,
        (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(answers[new URL(route.request().url()).pathname]) }),
      );
      // The server has no operator address to draw: the page's QR image is answered here too.
      await page.route(
        (url) => url.pathname === '/dashboard/operator-qr.svg',
        (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>' }),
      );
      await openDashboard(page, app);

      expect(await page.$$eval('[id^="injected-"], main b, a[href^="javascript:"]', (nodes) => nodes.length)).toBe(0);
      expect((await leaderboardRows(page))[0][1]).toBe(hostile('name'));
      const shown = await page.evaluate(() => document.body.innerText);
      for (const field of ['payee', 'status', 'amount', 'earner', 'tier', 'operator']) expect([field, shown.includes(hostile(field))]).toEqual([field, true]);
      expect(await page.getAttribute('#feed-items .payout .block code', 'title')).toBe(hostile('hash'));
      expect(await page.getAttribute('#top-donors code', 'title')).toBe(hostile('donor'));
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await app.close();
    }
  }, 60_000);
});

/** The page's files as any client gets them: no key, the right types, caching and policy headers. */
describe('the dashboard files over HTTP', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0', PRODUCT_BANNER_URL: 'https://cdn.example.com/p2s/banner.png' });
  });

  afterAll(async () => {
    await app?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}): Promise<Response> => fetch(`${app.baseUrl}${path}`, { headers });

  it('serves the page without a key, under a strict Content-Security-Policy that names only the banner origin', async () => {
    const page = await get('/');
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https://cdn.example.com; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(html).toContain('<h1>Pay2Slay</h1>');
    expect(html).toContain('<img class="banner" src="https://cdn.example.com/p2s/banner.png"');
    // Nothing inline to run, and no other configuration in the page.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc="\/dashboard\/dashboard\.js\?v=)/);
    expect(html).not.toContain(app.database.url);
    expect(html).not.toMatch(/postgres:|LEDGER_|apiKey|p2s_/);
  });

  it('serves the script, stylesheet and icon with their types, and answers a revalidation with 304', async () => {
    const html = await (await get('/')).text();
    for (const [path, type] of [
      ['/dashboard/dashboard.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/dashboard.css', 'text/css; charset=utf-8'],
      ['/dashboard/favicon.svg', 'image/svg+xml'],
    ] as const) {
      const url = html.match(new RegExp(`"(${path.replace(/\./g, '\\.')}\\?v=[A-Za-z0-9_-]+)"`))?.[1];
      expect([path, url]).toEqual([path, expect.any(String)]);
      const first = await get(url ?? path);
      const body = await first.text();
      expect([path, first.status, first.headers.get('content-type'), first.headers.get('cache-control')]).toEqual([path, 200, type, 'public, max-age=86400']);
      expect(body.length).toBeGreaterThan(100);
      const etag = first.headers.get('etag') ?? '';
      expect(url?.endsWith(`?v=${etag.slice(1, 13)}`)).toBe(true);
      const again = await get(path, { 'if-none-match': etag });
      expect([path, again.status, await again.text()]).toEqual([path, 304, '']);
    }
    const page = await get('/');
    expect((await get('/', { 'if-none-match': page.headers.get('etag') ?? '' })).status).toBe(304);
  });

  it('draws no QR code while no operator address is configured (404 problem), then the operator address as ban:<address>', async () => {
    const none = await call(app, 'GET', '/dashboard/operator-qr.svg', undefined, { authorization: '' });
    expect({ status: none.status, contentType: none.contentType, code: none.body.code }).toEqual({
      status: 404,
      contentType: 'application/problem+json; charset=utf-8',
      code: 'operator_address_not_configured',
    });

    const operator = await newBananoAccount();
    expect((await call(app, 'PUT', '/v1/admin/operator-seed', { seed: operator.seed })).status).toBe(204);
    const qr = await get('/dashboard/operator-qr.svg');
    const svg = await qr.text();
    expect(qr.status).toBe(200);
    expect(qr.headers.get('content-type')).toBe('image/svg+xml');
    expect(qr.headers.get('content-security-policy')).toBe("default-src 'none'");
    expect(qr.headers.get('cache-control')).toBe('no-cache');
    expect(svg).toBe(await qrToString(`ban:${operator.address}`, { type: 'svg', errorCorrectionLevel: 'M', margin: 4, width: 240, color: { dark: '#000000', light: '#ffffff' } }));
    expect(svg).not.toContain(operator.seed);
  });
});
