import { RateLimits } from './rate-limits';

describe('RateLimits', () => {
  it('allows each bucket its window share of the per-minute limit, then names the limit and when to come back', async () => {
    // 120 a minute in 30-second windows: 60 per window.
    const limits = new RateLimits({ keyPerMinute: 120, ipPerMinute: 6, windowSeconds: 30, trustProxy: false });
    for (let n = 0; n < 60; n += 1) expect(await limits.consume('key', 'key-a')).toEqual({ allowed: true });
    const refused = await limits.consume('key', 'key-a');
    expect(refused).toMatchObject({ allowed: false, limit: 'key' });
    expect(refused.allowed === false && refused.retryAfterSeconds >= 29 && refused.retryAfterSeconds <= 30).toBe(true);

    // Buckets are independent: another key, and the IP limit, are untouched.
    expect(await limits.consume('key', 'key-b')).toEqual({ allowed: true });
    for (let n = 0; n < 3; n += 1) expect(await limits.consume('ip', '198.51.100.1')).toEqual({ allowed: true });
    expect(await limits.consume('ip', '198.51.100.1')).toMatchObject({ allowed: false, limit: 'ip' });
  });

  it('gives a window at least one request, however small the per-minute limit', async () => {
    const limits = new RateLimits({ keyPerMinute: 1, ipPerMinute: 1, windowSeconds: 1, trustProxy: false });
    expect(await limits.consume('ip', '198.51.100.2')).toEqual({ allowed: true });
    expect(await limits.consume('ip', '198.51.100.2')).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
  });

  it('switches a limit off at 0, and is disabled when both are', async () => {
    const keyOnly = new RateLimits({ keyPerMinute: 60, ipPerMinute: 0, windowSeconds: 60, trustProxy: false });
    for (let n = 0; n < 1_000; n += 1) expect(await keyOnly.consume('ip', '198.51.100.3')).toEqual({ allowed: true });
    expect(keyOnly.enabled).toBe(true);
    expect(new RateLimits({ keyPerMinute: 0, ipPerMinute: 0, windowSeconds: 60, trustProxy: false }).enabled).toBe(false);
  });
});
