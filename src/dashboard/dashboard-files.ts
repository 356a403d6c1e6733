import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The public dashboard's static files: the page (rendered once with the product name and banner),
 * its stylesheet, its script and its icon. They are read once, when the application starts, and
 * served from memory with an ETag, so a revisit costs a 304.
 *
 * Where they come from:
 * - built (`npm run build`, so `npm start` and the Docker image): everything sits in
 *   `dist/src/dashboard/public/`, beside the compiled module. The Nest CLI copies the HTML, CSS
 *   and icon there (nest-cli.json `assets`) and `tsc -p tsconfig.dashboard.json` writes the
 *   script there;
 * - from the source tree (jest runs `src/` through SWC): HTML, CSS and icon from
 *   `src/dashboard/public/`, and the script is `src/dashboard/client/dashboard.ts` with its types
 *   stripped by SWC, jest's own compiler, so tests never serve a stale build.
 */

export const DASHBOARD_FILES = Symbol('DASHBOARD_FILES');

/** The public paths of the files (the page itself is `/`). */
export const DASHBOARD_PATHS = {
  page: '/',
  stylesheet: '/dashboard/dashboard.css',
  script: '/dashboard/dashboard.js',
  icon: '/dashboard/favicon.svg',
  operatorQr: '/dashboard/operator-qr.svg',
} as const;

/** One file as it is served. */
export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** A strong validator: the body's SHA-256, so it changes exactly when the bytes do. */
  readonly etag: string;
  readonly cacheControl: string;
  /** Headers besides the four above (the page's Content-Security-Policy). */
  readonly headers: Readonly<Record<string, string>>;
}

export interface DashboardFiles {
  readonly page: StaticFile;
  readonly stylesheet: StaticFile;
  readonly script: StaticFile;
  readonly icon: StaticFile;
}

/** The sources of the files, before the page is rendered. */
export interface DashboardSources {
  readonly pageTemplate: string;
  readonly stylesheet: Buffer;
  readonly script: Buffer;
  readonly icon: Buffer;
}

export interface ProductSettings {
  readonly name: string;
  readonly bannerUrl: string | null;
}

/**
 * The page is revalidated on every visit (a restart may change the product settings); the other
 * files are addressed with their ETag in the URL (`?v=`), so a day's caching never serves a page
 * an old script.
 */
const PAGE_CACHE_CONTROL = 'no-cache';
const ASSET_CACHE_CONTROL = 'public, max-age=86400';

/** Reads the files from `directory` (the folder of this module): built files first, else the sources. */
export function readDashboardSources(directory: string = __dirname): DashboardSources {
  const publicDirectory = join(directory, 'public');
  const read = (name: string): Buffer => {
    const path = join(publicDirectory, name);
    if (!existsSync(path)) throw new Error(`The dashboard's ${name} is missing from ${publicDirectory}: run npm run build`);
    return readFileSync(path);
  };
  return {
    pageTemplate: read('index.html').toString('utf8'),
    stylesheet: read('dashboard.css'),
    script: existsSync(join(publicDirectory, 'dashboard.js')) ? read('dashboard.js') : scriptFromSource(join(directory, 'client', 'dashboard.ts')),
    icon: read('favicon.svg'),
  };
}

/**
 * Only when running from the source tree, where no build has written dashboard.js: the client's
 * TypeScript with its types stripped by @swc/core (a development dependency, which jest already
 * uses for every other file). A built application never gets here.
 */
function scriptFromSource(path: string): Buffer {
  if (!existsSync(path)) throw new Error(`The dashboard's script is missing: neither public/dashboard.js nor ${path} exists; run npm run build`);
  const swc = require('@swc/core') as typeof import('@swc/core');
  const output = swc.transformSync(readFileSync(path, 'utf8'), {
    filename: path,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
    sourceMaps: false,
    swcrc: false,
    configFile: false,
  });
  return Buffer.from(output.code, 'utf8');
}

/** The files as served: the page rendered for `product`, each file with its ETag and headers. */
export function dashboardFiles(sources: DashboardSources, product: ProductSettings): DashboardFiles {
  const stylesheet = staticFile(sources.stylesheet, 'text/css; charset=utf-8', ASSET_CACHE_CONTROL);
  const script = staticFile(sources.script, 'text/javascript; charset=utf-8', ASSET_CACHE_CONTROL);
  const icon = staticFile(sources.icon, 'image/svg+xml', ASSET_CACHE_CONTROL, { 'content-security-policy': SVG_POLICY });
  const html = renderPage(sources.pageTemplate, product, {
    stylesheet: versioned(DASHBOARD_PATHS.stylesheet, stylesheet),
    script: versioned(DASHBOARD_PATHS.script, script),
    icon: versioned(DASHBOARD_PATHS.icon, icon),
  });
  const page = staticFile(Buffer.from(html, 'utf8'), 'text/html; charset=utf-8', PAGE_CACHE_CONTROL, {
    'content-security-policy': contentSecurityPolicy(product.bannerUrl),
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  });
  return { page, stylesheet, script, icon };
}

/** Every file also says what it is and that it is nothing else (no MIME sniffing). */
export function staticFile(body: Buffer, contentType: string, cacheControl: string, headers: Record<string, string> = {}): StaticFile {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, contentType, etag, cacheControl, headers: { 'x-content-type-options': 'nosniff', ...headers } };
}

/** An SVG opened on its own is a document: it may run nothing and load nothing. */
export const SVG_POLICY = "default-src 'none'";

const versioned = (path: string, file: StaticFile): string => `${path}?v=${file.etag.slice(1, 13)}`;

/**
 * The page's policy: scripts, styles, data and images from this server only (no inline script or
 * style), and images also from the banner's origin when one is configured. Nothing may frame it,
 * and it has no forms and no base URL to hijack.
 */
export function contentSecurityPolicy(bannerUrl: string | null): string {
  const images = ["'self'", ...(bannerUrl === null ? [] : [new URL(bannerUrl).origin])];
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${[...new Set(images)].join(' ')}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]);
}

/**
 * The page with its placeholders filled: `{{PRODUCT_NAME}}` (escaped), `{{BANNER}}` (an image
 * element, or nothing), and the files' versioned URLs. A placeholder left over is a template
 * mistake, caught at start-up.
 */
export function renderPage(template: string, product: ProductSettings, urls: { readonly stylesheet: string; readonly script: string; readonly icon: string }): string {
  const banner = product.bannerUrl === null ? '' : `<img class="banner" src="${escapeHtml(product.bannerUrl)}" alt="" decoding="async">`;
  const values: Readonly<Record<string, string>> = {
    PRODUCT_NAME: escapeHtml(product.name),
    BANNER: banner,
    STYLESHEET_URL: escapeHtml(urls.stylesheet),
    SCRIPT_URL: escapeHtml(urls.script),
    ICON_URL: escapeHtml(urls.icon),
  };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (placeholder, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`The dashboard template has an unknown placeholder ${placeholder}`);
    return value;
  });
}

/** Whether a request's If-None-Match names `etag` (or `*`), so a 304 answers it. */
export function notModified(ifNoneMatch: string | string[] | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const tags = (Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch).split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  return tags.includes('*') || tags.includes(etag);
}
