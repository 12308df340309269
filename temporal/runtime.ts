// The Temporal SDK logs through its own console logger unless a Runtime is installed first; this
// routes both its TypeScript-side and native (core) logs into our structured logger, and, when
// WORKER_METRICS_PORT is set, serves the SDK's own metrics (task slots, poll and schedule-to-start
// latencies, activity and workflow outcomes) in Prometheus format from the native runtime.
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger';

const LEVELS: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN' };

let installed = false;

/**
 * Installs the Temporal runtime once per process; later calls are no-ops (the SDK allows one
 * install per process, which is also why the metrics address is a per-process setting).
 */
export function installTemporalRuntime(logger: Logger, metrics?: { host: string; port: number }): void {
  if (installed) return;
  installed = true;
  // The SDK's INFO lines (worker state changes) are chatty; keep them at debug unless asked.
  const level = LEVELS[logger.level] ?? 'ERROR';
  const sdkLevel: LogLevel = level === 'INFO' ? 'WARN' : level;
  const sdkLogger = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(sdkLevel, ({ level: entryLevel, message, meta }) => {
      const method =
        entryLevel === 'TRACE'
          ? 'trace'
          : entryLevel === 'DEBUG'
            ? 'debug'
            : entryLevel === 'INFO'
              ? 'info'
              : entryLevel === 'WARN'
                ? 'warn'
                : 'error';
      sdkLogger[method](meta ?? {}, message);
    }),
    telemetryOptions: {
      logging: { filter: { core: sdkLevel, other: sdkLevel }, forward: {} },
      ...(metrics
        ? {
            metrics: {
              prometheus: {
                bindAddress: `${metrics.host.includes(':') ? `[${metrics.host}]` : metrics.host}:${metrics.port}`,
              },
            },
          }
        : {}),
    },
  });
}
