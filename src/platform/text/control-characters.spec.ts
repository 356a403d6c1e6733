import { escapeControlCharacters, escapeEachLine } from './control-characters';

describe('escapeControlCharacters', () => {
  it('leaves printable text as it is, accents and emoji included', () => {
    expect(escapeControlCharacters('Zoë ⚔️ 12345678901234567 "quoted" \\ back')).toBe('Zoë ⚔️ 12345678901234567 "quoted" \\ back');
  });

  it('escapes C0 and C1 controls, DEL, and the bidirectional overrides and isolates', () => {
    expect(escapeControlCharacters('a\u0000b\u001b[2Jc\u007fd\u009be\u202ef\u2066g\r\n\t')).toBe(
      'a\\u0000b\\u001b[2Jc\\u007fd\\u009be\\u202ef\\u2066g\\r\\n\\t',
    );
  });
});

describe('escapeEachLine', () => {
  it('keeps the line breaks and escapes the rest of each line', () => {
    expect(escapeEachLine('error: \u001b[31mred\r\nUsage: x\n')).toBe('error: \\u001b[31mred\\r\nUsage: x\n');
  });
});
