// How an entry point starts: a configuration error ends the process with its message alone. The
// message names every variable to fix; a stack trace would only bury it.
import { ConfigError } from '../config';

export function startEntryPoint(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
