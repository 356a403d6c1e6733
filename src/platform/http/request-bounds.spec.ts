import { JSON_DEPTH_MAX, jsonBoundBroken } from './request-bounds';

/** `levels` arrays, or objects, nested around `inner`. */
const arrays = (levels: number, inner: unknown = 1): unknown => JSON.parse(`${'['.repeat(levels)}${JSON.stringify(inner)}${']'.repeat(levels)}`);
const objects = (levels: number, inner: unknown = 1): unknown => JSON.parse(`${'{"a":'.repeat(levels)}${JSON.stringify(inner)}${'}'.repeat(levels)}`);

describe('jsonBoundBroken', () => {
  it.each([
    ['an object', { reason: 'checked', items: [1, 'two', null, true, { three: 3 }] }],
    ['a bare string', 'x'],
    ['a number', 42],
    ['null', null],
    ['arrays as deep as allowed', arrays(JSON_DEPTH_MAX)],
    ['objects as deep as allowed', objects(JSON_DEPTH_MAX)],
    ['a wide array of 100,000 items', Array.from({ length: 100_000 }, (_, n) => ({ n }))],
    ['other control characters', { 'k\u0001': '\u001b[31m\u007f', text: '\\u0000 written out' }],
    ['a whole surrogate pair', { ['\ud83d\ude00']: 'gg \ud83d\ude00', text: '\\ud83d written out' }],
  ])('breaks no bound for %s', (_case, body) => {
    expect(jsonBoundBroken(body, JSON_DEPTH_MAX)).toBeNull();
  });

  it.each([
    ['arrays one level too deep', arrays(JSON_DEPTH_MAX + 1)],
    ['objects one level too deep', objects(JSON_DEPTH_MAX + 1)],
    ['an empty array one level too deep', arrays(JSON_DEPTH_MAX, [])],
    ['a million brackets', JSON.parse(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`)],
  ])('answers json_too_deep for %s', (_case, body) => {
    expect(jsonBoundBroken(body, JSON_DEPTH_MAX)).toBe('json_too_deep');
  });

  it.each([
    ['a field', { reason: 'checked\u0000' }],
    ['a key', { 'reason\u0000': 'checked' }],
    ['a bare string', '\u0000'],
    ['a string as deep as allowed', arrays(JSON_DEPTH_MAX - 1, ['a', 'b\u0000'])],
    ['a key after other fields', { a: [1, 2, { b: 'c' }], z: { 'y\u0000': null } }],
  ])('answers nul_character for the NUL character in %s', (_case, body) => {
    expect(jsonBoundBroken(body, JSON_DEPTH_MAX)).toBe('nul_character');
  });

  it.each([
    ['a high surrogate at the end of a field', { reason: 'checked \ud83d' }],
    ['a low surrogate at the start of a field', { reason: '\ude00 checked' }],
    ['a pair the wrong way round', { reason: '\ude00\ud83d' }],
    ['a key', { ['reason\ud83d']: 'checked' }],
    ['a bare string', '\ud800'],
    ['a string as deep as allowed', arrays(JSON_DEPTH_MAX - 1, ['a', 'b\udfff'])],
  ])('answers lone_surrogate for half a surrogate pair in %s', (_case, body) => {
    expect(jsonBoundBroken(body, JSON_DEPTH_MAX)).toBe('lone_surrogate');
  });

  it('answers nul_character for a body with both the NUL character and half a surrogate pair', () => {
    expect(jsonBoundBroken({ a: '\ud83d', b: '\u0000' }, JSON_DEPTH_MAX)).toBe('nul_character');
    expect(jsonBoundBroken({ a: '\u0000', b: '\ud83d' }, JSON_DEPTH_MAX)).toBe('nul_character');
  });

  // The parser has always checked the depth first: a body that breaks both is json_too_deep,
  // wherever the NUL sits, before, after or inside the part that is too deep.
  it.each([
    ['before the part too deep', ['\u0000', arrays(JSON_DEPTH_MAX)]],
    ['after the part too deep', [arrays(JSON_DEPTH_MAX), '\u0000']],
    ['in the key above it', { 'deep\u0000': objects(JSON_DEPTH_MAX) }],
    ['inside it', arrays(JSON_DEPTH_MAX + 5, 'x\u0000')],
  ])('answers json_too_deep for a body too deep with the NUL character %s', (_case, body) => {
    expect(jsonBoundBroken(body, JSON_DEPTH_MAX)).toBe('json_too_deep');
  });
});
