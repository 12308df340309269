// What a successful sign-in leaves behind besides the session: its diagnostic record and its
// audit event. The three are independent writes, so they go to the database together instead of
// one after the other; the answer still waits for all of them (a test or an admin reading right
// after the redirect sees every record), and only the session's failure changes the answer. The
// record writers never reject (they log a failure and the sign-in stands).

export interface AfterSignIn {
  /** A record write to finish alongside the session; it must never reject. */
  defer: (write: Promise<void>) => void;
  /** Runs `session` with the deferred writes and answers it once all of them have settled. */
  alongside: <T>(session: () => Promise<T>) => Promise<T>;
}

export function afterSignIn(): AfterSignIn {
  const pending: Promise<void>[] = [];
  return {
    defer: (write) => {
      pending.push(write);
    },
    alongside: async (session) => {
      const started = session();
      await Promise.allSettled([started, ...pending]);
      return started;
    },
  };
}
