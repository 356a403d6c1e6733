/** An answer from an outside service that was larger than the caller accepts. */
export class BodyTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`The answer was larger than ${limitBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a fetch response's body as UTF-8 text, giving up (and cancelling the stream) past
 * `limitBytes`, so a broken or hostile service cannot make the ledger buffer without bound.
 */
export async function readBodyBounded(response: Response, limitBytes: number): Promise<string> {
  const declaredBytes = Number(response.headers.get('content-length') ?? '0');
  if (declaredBytes > limitBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new BodyTooLargeError(limitBytes);
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let totalBytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    totalBytes += value.byteLength;
    if (totalBytes > limitBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(limitBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
