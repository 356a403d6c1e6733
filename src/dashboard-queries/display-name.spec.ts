import { displayName, MASK } from './display-name';

describe('displayName: a player on the public dashboard routes', () => {
  it('masks a Discord id down to its last 4 characters by default', () => {
    expect(displayName('123456789012345678', false)).toBe('••••5678');
    expect(displayName('12345678901234567890', false)).toBe('••••7890');
  });

  it('never shows more than the last 4 characters, whatever the id', () => {
    const masked = displayName('700000000000006789', false);
    expect(masked).toBe(`${MASK}6789`);
    expect(masked).not.toContain('7000');
  });

  it('shows an id of 4 characters or fewer not at all, rather than in full', () => {
    expect(displayName('6789', false)).toBe(MASK);
    expect(displayName('89', false)).toBe(MASK);
  });

  it('shows the id in full when the operator chose to (DASHBOARD_SHOW_DISCORD_IDS=true)', () => {
    expect(displayName('123456789012345678', true)).toBe('123456789012345678');
  });

  it('answers the mask alone while the player\'s registration is not in the read model yet', () => {
    expect(displayName(null, false)).toBe(MASK);
    expect(displayName(null, true)).toBe(MASK);
  });
});
