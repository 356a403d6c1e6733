import { type Client } from 'pg';

/*
 * COPY … FROM STDIN and COPY … TO STDOUT through a plain `pg` Client, without pg-copy-streams
 * (not a dependency). `pg` hands a query object with a `submit(connection)` method the protocol
 * messages of its statement, which is all the COPY sub-protocol needs: CopyInResponse is answered
 * with CopyData messages and CopyDone; CopyData from the server is collected; CommandComplete
 * carries the row count and ReadyForQuery ends the statement.
 */

/** The parts of pg's internal Connection the COPY sub-protocol uses. */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
  readonly stream: NodeJS.WritableStream & { writableNeedDrain?: boolean };
}

abstract class CopyStatement {
  protected error: Error | null = null;
  protected rows = 0;
  private settle: { resolve: (rows: number) => void; reject: (error: Error) => void } | null = null;
  readonly done: Promise<number>;

  constructor(private readonly text: string) {
    this.done = new Promise<number>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  submit(connection: PgConnection): void {
    connection.query(this.text);
  }

  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)$/.exec(message.text ?? '');
    if (match !== null) this.rows = Number(match[1]);
  }

  handleError(error: Error): void {
    this.error ??= error;
    // pg forgets the active statement when it reports an error: its ReadyForQuery never comes here.
    this.finish();
  }

  handleReadyForQuery(): void {
    this.finish();
  }

  // Messages a COPY statement does not produce, but pg may route here.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(_connection: PgConnection): void {
    this.error ??= new Error('Unexpected CopyInResponse');
  }
  handleCopyData(_message: { chunk: Buffer }, _connection: PgConnection): void {}

  private finish(): void {
    const settle = this.settle;
    this.settle = null;
    if (settle === null) return;
    if (this.error !== null) settle.reject(this.error);
    else settle.resolve(this.rows);
  }
}

class CopyIn extends CopyStatement {
  constructor(
    text: string,
    private readonly source: AsyncIterable<string | Buffer> | Iterable<string | Buffer>,
  ) {
    super(text);
  }

  override handleCopyInResponse(connection: PgConnection): void {
    void this.pump(connection);
  }

  private async pump(connection: PgConnection): Promise<void> {
    try {
      for await (const chunk of this.source) {
        // The server refused the data: it drops whatever follows, so stop sending.
        if (this.error !== null) break;
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        if (buffer.length === 0) continue;
        connection.sendCopyFromChunk(buffer);
        // Respect the socket's backpressure, or a big COPY buffers everything in memory.
        if (connection.stream.writableNeedDrain === true) await new Promise((resolve) => connection.stream.once('drain', resolve));
      }
      connection.endCopyFrom();
    } catch (error) {
      this.error ??= error instanceof Error ? error : new Error(String(error));
      connection.sendCopyFail(this.error.message);
    }
  }
}

class CopyOut extends CopyStatement {
  readonly chunks: Buffer[] = [];
  bytes = 0;

  override handleCopyData(message: { chunk: Buffer }): void {
    // The chunk is a view of pg's receive buffer, which the next read overwrites: keep a copy.
    this.chunks.push(Buffer.from(message.chunk));
    this.bytes += message.chunk.length;
  }
}

/** Runs `COPY … FROM STDIN` with the text of `source`; answers the rows copied. */
export async function copyIn(client: Client, statement: string, source: AsyncIterable<string | Buffer> | Iterable<string | Buffer>): Promise<number> {
  const copy = new CopyIn(statement, source);
  void client.query(copy as never);
  return copy.done;
}

/** Runs `COPY … TO STDOUT`; answers the data as it came, in chunks, and the row count. */
export async function copyOut(client: Client, statement: string): Promise<{ chunks: Buffer[]; bytes: number; rows: number }> {
  const copy = new CopyOut(statement);
  void client.query(copy as never);
  const rows = await copy.done;
  return { chunks: copy.chunks, bytes: copy.bytes, rows };
}

/** A value in COPY's text format: \N for null, backslash, tab, newline and carriage return escaped. */
export function copyText(value: string | number | bigint | boolean | null): string {
  if (value === null) return '\\N';
  const text = String(value);
  if (!/[\\\t\n\r]/.test(text)) return text;
  return text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** One line of COPY text. */
export function copyLine(values: ReadonlyArray<string | number | bigint | boolean | null>): string {
  return `${values.map(copyText).join('\t')}\n`;
}
