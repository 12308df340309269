// Free TCP ports on 127.0.0.1, so that tests, `npm run dev` and a second checkout never collide on
// fixed ports. The ports are released before the server binds them, so another process can win
// the race in between; the starters retry with fresh ports when a bind fails.
import { createServer, type Server } from 'node:net';

/** `count` distinct free ports (held open together, so they cannot repeat). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(await listenOnAnyPort(server));
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

function listenOnAnyPort(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error('could not read the port of a listening socket'));
    });
  });
}

/** Whether a server's log says it lost the race for its port. */
export function lostPortRace(log: string): boolean {
  return /address already in use|EADDRINUSE|bind: address/i.test(log);
}
