// Starting a server means: spawn it on free ports, then poll until it really answers requests.
// A process that is merely running may still be migrating its database or binding its ports.
import { setTimeout as sleep } from 'node:timers/promises';

import { freePorts, lostPortRace } from './ports';
import { logTail, supervise, type SuperviseOptions, type SupervisedProcess } from './supervise';

/** A server did not start; the message includes the tail of its log. */
export class ServerStartError extends Error {
  override name = 'ServerStartError';
}

export interface StartUntilReadyOptions {
  /** Human name for errors, e.g. "Temporal dev server". */
  name: string;
  portCount: number;
  /** Ports to use instead of free ones (a restart on the address clients already hold). */
  ports?: number[];
  spawnOptions: (ports: number[]) => SuperviseOptions;
  /** Resolves true once the server answers; false or a rejection mean "not yet". */
  isReady: (ports: number[]) => Promise<boolean>;
  timeoutMs: number;
}

const ATTEMPTS = 3;
const POLL_MS = 250;

export async function startUntilReady(
  options: StartUntilReadyOptions,
): Promise<{ server: SupervisedProcess; ports: number[] }> {
  for (let attempt = 1; ; attempt++) {
    const ports = options.ports ?? (await freePorts(options.portCount));
    const spawnOptions = options.spawnOptions(ports);
    const server = await supervise(spawnOptions);
    const outcome = await waitUntilReady(server, ports, options);
    if (outcome.ready) return { server, ports };

    await server.stop();
    const tail = await logTail(spawnOptions.logFile);
    // Another process took one of the ports between freePorts() and the server binding it.
    if (outcome.exitedEarly && lostPortRace(tail) && attempt < ATTEMPTS && !options.ports) continue;
    throw new ServerStartError(
      [
        `The ${options.name} (${spawnOptions.command}) ${outcome.reason}.`,
        ...(outcome.lastError ? [`Last readiness check: ${outcome.lastError}`] : []),
        `Log ${spawnOptions.logFile} ends with:`,
        tail,
      ].join('\n'),
    );
  }
}

type Outcome =
  { ready: true } | { ready: false; exitedEarly: boolean; reason: string; lastError: string | undefined };

async function waitUntilReady(
  server: SupervisedProcess,
  ports: number[],
  options: StartUntilReadyOptions,
): Promise<Outcome> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: string | undefined;
  for (;;) {
    if (server.hasExited()) {
      const status = await server.exited;
      const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
      return { ready: false, exitedEarly: true, reason: `exited with ${how} while starting`, lastError };
    }
    try {
      if (await options.isReady(ports)) return { ready: true };
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      const reason = `did not answer within ${Math.round(options.timeoutMs / 1000)} s`;
      return { ready: false, exitedEarly: false, reason, lastError };
    }
    await sleep(POLL_MS);
  }
}
