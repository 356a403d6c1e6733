import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { type ServerDescription } from './bench-server';

export interface MachineDescription {
  readonly cores: number;
  readonly cpuModel: string;
  readonly totalMemory: string;
  readonly freeMemoryAtStart: string;
  readonly loadAverageAtStart: string;
  readonly node: string;
  readonly postgres: string;
  readonly durability: string;
  readonly postgresServer: 'embedded' | 'DATABASE_URL';
}

export function describeMachine(server: ServerDescription, embedded: boolean): MachineDescription {
  const processors = cpus();
  return {
    cores: processors.length,
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    totalMemory: formatBytes(totalmem()),
    freeMemoryAtStart: formatBytes(freemem()),
    loadAverageAtStart: loadavg().map((value) => value.toFixed(2)).join(' '),
    node: process.version,
    postgres: server.version,
    durability: `fsync=${server.fsync}, synchronous_commit=${server.synchronousCommit}, full_page_writes=${server.fullPageWrites}, shared_buffers=${server.sharedBuffers}`,
    postgresServer: embedded ? 'embedded' : 'DATABASE_URL',
  };
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}

/** Integers with thousands separators: "20,000". */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
