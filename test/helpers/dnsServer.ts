// A real, authoritative-looking DNS server on 127.0.0.1 for tests: UDP and TCP on one port (a
// resolver falls back to TCP on the same port for truncated answers). Tests publish and remove
// TXT records and inject failures, then point the DNS activities at `address`.
import type { AddressInfo, Socket } from 'node:net';
import dns2, { Packet, type DnsHandler } from 'dns2';

export type DnsFailureMode = 'none' | 'servfail' | 'refused' | 'drop';

export interface TestDnsServer {
  /** `127.0.0.1:<port>`, ready for Resolver#setServers or DNS_SERVERS. */
  address: string;
  port: number;
  /**
   * Replaces the TXT records of `name`. Each value is one record: a string (split into 255-octet
   * chunks as DNS requires) or the chunks themselves.
   */
  setTxt(name: string, values: readonly (string | readonly string[])[]): void;
  removeTxt(name: string): void;
  setFailure(mode: DnsFailureMode): void;
  /** Names queried so far, lower-cased, in order: lets a test see that a check really ran. */
  queriedNames(): string[];
  stop(): Promise<void>;
  /** Starts again on the same port, records kept: "DNS server down, then back". */
  restart(): Promise<void>;
}

const TXT_CHUNK_OCTETS = 255;

function canonical(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function chunk(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 0) return [''];
  const chunks: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += TXT_CHUNK_OCTETS) {
    chunks.push(bytes.subarray(offset, offset + TXT_CHUNK_OCTETS).toString('utf8'));
  }
  return chunks;
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const records = new Map<string, string[][]>();
  const queried: string[] = [];
  let failure: DnsFailureMode = 'none';

  const handle: DnsHandler = (request, send) => {
    const question = request.questions[0];
    if (question) queried.push(canonical(question.name));
    if (failure === 'drop') return;
    const reply = (response: Packet) => {
      // A client that gave up has nothing to receive the reply; that is not the test's concern.
      send(response).catch(() => undefined);
    };
    if (failure === 'servfail')
      return reply(Packet.createErrorResponseFromRequest(request, Packet.RCODE.SERVFAIL));
    if (failure === 'refused')
      return reply(Packet.createErrorResponseFromRequest(request, Packet.RCODE.REFUSED));

    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    const txt = question ? records.get(canonical(question.name)) : undefined;
    if (!question || !txt) {
      response.header.rcode = Packet.RCODE.NXDOMAIN;
    } else if (question.type === Packet.TYPE.TXT || question.type === Packet.TYPE.ANY) {
      for (const data of txt) {
        // TTL 0: nothing between the test and this server may cache an answer.
        response.answers.push(
          Packet.createResourceFromQuestion(question, {
            type: Packet.TYPE.TXT,
            class: Packet.CLASS.IN,
            ttl: 0,
            data,
          }),
        );
      }
    } // else NOERROR with no answers: the name exists without records of that type (NODATA).
    reply(response);
  };

  let port = 0;
  let running: { close(): Promise<void> } | undefined;

  const listen = async (wantedPort: number): Promise<number> => {
    const udp = dns2.createUDPServer({ type: 'udp4' });
    udp.on('request', handle);
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(wantedPort, '127.0.0.1', () => resolve());
    });
    const udpPort = udp.address().port;

    const tcp = dns2.createTCPServer(handle);
    const sockets = new Set<Socket>();
    tcp.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(udpPort, '127.0.0.1', () => resolve());
      });
    } catch (error) {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      throw error;
    }
    running = {
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await Promise.all([
          new Promise<void>((resolve) => udp.close(() => resolve())),
          new Promise<void>((resolve) => tcp.close(() => resolve())),
        ]);
      },
    };
    return (tcp.address() as AddressInfo).port;
  };

  // The OS picks a free UDP port; the TCP side must share it, so retry if TCP finds it taken.
  for (let attempt = 1; port === 0; attempt++) {
    try {
      port = await listen(0);
    } catch (error) {
      if (attempt >= 10 || (error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    }
  }

  const stop = async (): Promise<void> => {
    const server = running;
    running = undefined;
    await server?.close();
  };

  return {
    address: `127.0.0.1:${port}`,
    port,
    setTxt(name, values) {
      records.set(
        canonical(name),
        values.map((value) => (typeof value === 'string' ? chunk(value) : [...value])),
      );
    },
    removeTxt(name) {
      records.delete(canonical(name));
    },
    setFailure(mode) {
      failure = mode;
    },
    queriedNames: () => [...queried],
    stop,
    async restart() {
      await stop();
      await listen(port);
    },
  };
}
