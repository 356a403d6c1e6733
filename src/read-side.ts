import { allProjections, measureLag, Projector } from '../projections';
import { type LedgerConfig } from './platform/config/config';
import { type ReadinessCheck } from './platform/health/health.controller';
import { type Logger } from './platform/logging/logger';
import { type Infrastructure } from './platform/runtime/infrastructure';

// The composition roots (this file, main.ts and projector.main.ts) are the only files of src/
// that import projections/: the write side never depends on the read side.

export function createProjector(infrastructure: Infrastructure, config: LedgerConfig, logger: Logger): Projector {
  return new Projector(infrastructure.pool, infrastructure.eventStore, allProjections, {
    batchSizeMax: config.projector.batchSizeMax,
    batchIdleTimeoutMs: config.projector.batchIdleTimeoutMs,
    log: (message, fields) => logger.warn(fields ?? {}, message),
  });
}

/**
 * Ready while every projection is at most `readyLagSecondsMax` behind the event store. With the
 * projector in this process, each projection also says its state, so a projection whose batches
 * fail (`retrying`) is told apart from one that is only slow; why it fails is in the log (a
 * database message may quote rows, and /ready is public).
 */
export function projectionLagCheck(infrastructure: Infrastructure, config: LedgerConfig, projector: Projector | null): ReadinessCheck {
  return {
    name: 'projections',
    check: async () => {
      const lags = await measureLag(infrastructure.pool, infrastructure.eventStore, allProjections);
      const states = new Map((projector?.status() ?? []).map((status) => [status.name, status.state]));
      return {
        ok: lags.every((lag) => lag.lagSeconds <= config.projector.readyLagSecondsMax),
        detail: Object.fromEntries(
          lags.map((lag) => [lag.name, { caughtUp: lag.caughtUp, lagSeconds: lag.lagSeconds, ...(states.has(lag.name) ? { state: states.get(lag.name) } : {}) }]),
        ),
      };
    },
  };
}
