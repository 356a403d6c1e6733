/*
 * Text a terminal will show that may quote what someone typed or pasted: an id copied from a log
 * can carry control sequences (clear the screen, set the window title, recolour), which printed raw
 * act on the operator's terminal. Each control character is shown escaped instead.
 */

/** C0 and C1 controls, DEL, and the bidirectional overrides and isolates, which reorder what follows. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTER, (character) => SHORT_ESCAPES[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Text of several lines (a stack, commander's usage) escaped line by line, its line breaks kept. */
export function escapeEachLine(text: string): string {
  return text.split('\n').map(escapeControlCharacters).join('\n');
}
