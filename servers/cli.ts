// npm run servers -- install                      build (or find) both binaries and print their paths
// npm run servers -- start [--data-dir DIR] [--headless]
//                                                 run both servers until Ctrl-C; prints one JSON line
import { parseArgs } from 'node:util';

import { loadConfig } from '../config';
import { resolveMongoBinary, resolveTemporalBinary, startServers } from './index';

const USAGE = 'usage: npm run servers -- install | start [--data-dir DIR] [--headless]';

async function install(): Promise<void> {
  const temporal = await resolveTemporalBinary();
  const mongo = await resolveMongoBinary();
  console.log(`temporal: ${temporal.path} (${temporal.source})`);
  console.log(`${mongo.kind}: ${mongo.path} (${mongo.source})`);
}

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { 'data-dir': { type: 'string' }, headless: { type: 'boolean', default: false } },
  });
  const servers = await startServers({
    dataDir: values['data-dir'] ?? loadConfig(undefined, { developmentDefaults: true }).dataDir,
    headless: values.headless,
  });
  const { temporalAddress, temporalUiUrl, mongoUri, mongoKind, pids } = servers;
  console.log(JSON.stringify({ temporalAddress, temporalUiUrl, mongoUri, mongoKind, pids }));
  // Signal listeners alone do not keep Node running.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(keepAlive);
  await servers.stop();
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'install') return install();
  if (command === 'start') return start(rest);
  console.error(USAGE);
  process.exitCode = 2;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
