import { ConfigError, loadConfig } from '../platform/config/config';
import { contentSecurityPolicy, dashboardFiles, type DashboardSources, notModified, readDashboardSources, renderPage } from './dashboard-files';

const URLS = { stylesheet: '/dashboard/dashboard.css?v=1', script: '/dashboard/dashboard.js?v=2', icon: '/dashboard/favicon.svg?v=3' };

describe('the dashboard page and its files', () => {
  it('puts the product name in the page escaped, and the banner only when configured', () => {
    const template = '<title>{{PRODUCT_NAME}}</title>{{BANNER}}<h1>{{PRODUCT_NAME}}</h1><link href="{{STYLESHEET_URL}}">';
    const hostile = renderPage(template, { name: `<script>alert("x")</script> & 'co'`, bannerUrl: null }, URLS);
    expect(hostile).toBe(
      '<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</title><h1>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</h1><link href="/dashboard/dashboard.css?v=1">',
    );
    const withBanner = renderPage(template, { name: 'Pay2Slay', bannerUrl: 'https://cdn.example.com/banner.png?a=1&b=2' }, URLS);
    expect(withBanner).toContain('<img class="banner" src="https://cdn.example.com/banner.png?a=1&amp;b=2" alt="" decoding="async">');
  });

  it('refuses a template with a placeholder it does not know', () => {
    expect(() => renderPage('{{PRODUCT_NAME}} {{API_KEY}}', { name: 'Pay2Slay', bannerUrl: null }, URLS)).toThrow('unknown placeholder {{API_KEY}}');
  });

  it('allows scripts, styles and data from the service only, and images also from the banner origin', () => {
    expect(contentSecurityPolicy(null)).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(contentSecurityPolicy('https://cdn.example.com:8443/img/banner.png')).toContain("img-src 'self' https://cdn.example.com:8443;");
    expect(contentSecurityPolicy('https://cdn.example.com/a.png')).not.toContain('unsafe-inline');
  });

  it('serves the real files: the page with versioned asset URLs, no placeholder left, and an ETag for each', () => {
    const sources: DashboardSources = readDashboardSources();
    const files = dashboardFiles(sources, { name: 'Slay & Pay', bannerUrl: null });
    const html = files.page.body.toString('utf8');
    expect(html).not.toMatch(/\{\{[A-Z_]+\}\}/);
    expect(html).toContain('<h1>Slay &amp; Pay</h1>');
    expect(html).toContain(`/dashboard/dashboard.js?v=${files.script.etag.slice(1, 13)}`);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(files.page.headers['content-security-policy']).toBe(contentSecurityPolicy(null));
    expect(files.page.contentType).toBe('text/html; charset=utf-8');
    expect(files.script.contentType).toBe('text/javascript; charset=utf-8');
    // The script from the source tree has its types stripped and stays an ES module.
    expect(files.script.body.toString('utf8')).toContain('/v1/leaderboard?by=');
    expect(files.script.body.toString('utf8')).not.toMatch(/\binterface\s+LeaderboardItem\b/);
    for (const file of Object.values(files)) expect(file.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(new Set(Object.values(files).map((file) => file.etag)).size).toBe(4);
  });

  it('answers a revalidation that names the current ETag with 304', () => {
    expect(notModified(undefined, '"abc"')).toBe(false);
    expect(notModified('"abc"', '"abc"')).toBe(true);
    expect(notModified('W/"abc"', '"abc"')).toBe(true);
    expect(notModified('"old", "abc"', '"abc"')).toBe(true);
    expect(notModified('*', '"abc"')).toBe(true);
    expect(notModified('"old"', '"abc"')).toBe(false);
  });
});

describe('PRODUCT_NAME and PRODUCT_BANNER_URL', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems];
      throw error;
    }
  };

  it('default to Pay2Slay and no banner', () => {
    expect(loadConfig({}).product).toEqual({ name: 'Pay2Slay', bannerUrl: null });
  });

  it('take a name and an http(s) banner URL as written', () => {
    expect(loadConfig({ PRODUCT_NAME: 'Slay & Pay', PRODUCT_BANNER_URL: 'https://cdn.example.com/banner.png' }).product).toEqual({
      name: 'Slay & Pay',
      bannerUrl: 'https://cdn.example.com/banner.png',
    });
  });

  it('refuse a name that is too long or holds control characters, naming the variable', () => {
    expect(problems({ PRODUCT_NAME: 'x'.repeat(61) })).toEqual(['PRODUCT_NAME must be 1 to 60 characters without control characters']);
    expect(problems({ PRODUCT_NAME: 'Pay\u0007Slay' })).toEqual(['PRODUCT_NAME must be 1 to 60 characters without control characters']);
  });

  it('refuse a banner URL that is not http(s), holds quotes or spaces, or carries credentials (never quoting them)', () => {
    for (const url of ['javascript:alert(1)', 'data:image/png;base64,AAAA', 'ftp://example.com/a.png', 'banner.png', 'https://example.com/a".png', 'https://example.com/a b.png']) {
      expect(problems({ PRODUCT_BANNER_URL: url })).toEqual([expect.stringMatching(/^PRODUCT_BANNER_URL must be an absolute http\(s\) URL/)]);
    }
    const withPassword = problems({ PRODUCT_BANNER_URL: 'https://user:hunter2@example.com/a.png' });
    expect(withPassword).toEqual(['PRODUCT_BANNER_URL must not carry a user name or password']);
    expect(withPassword.join()).not.toContain('hunter2');
  });

  it('refuse a banner URL whose host is not a plain domain name or IP address, which the page policy could not name as an origin', () => {
    // The banner's origin goes into the Content-Security-Policy header, whose directives ';' ends
    // and whose policies ',' separates: a host holding either would add its own.
    for (const url of ['https://cdn.example.com;sandbox;x.example/a.png', 'https://cdn%3Bscript-src-elem.example/a.png', 'https://cdn.example.com,default-src.example/a.png', 'https://cdn_1.example.com/a.png']) {
      expect([url, problems({ PRODUCT_BANNER_URL: url })]).toEqual([url, [expect.stringMatching(/^PRODUCT_BANNER_URL must name its host as a domain name or an IP address/)]]);
    }
    for (const url of ['https://cdn.example.com:8443/img/banner.png', 'http://127.0.0.1:8080/banner.svg', 'https://[2001:db8::1]/banner.png', 'https://xn--bcher-kva.example/b.png']) {
      expect([url, problems({ PRODUCT_BANNER_URL: url })]).toEqual([url, []]);
    }
  });
});
