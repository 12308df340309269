// Attribute mapping as the ACS does it for every sign-in (mergeAttributeMapping on the connector's
// mapping, then mapProfile), against copying the attributes, the least any mapping must do.
import {
  mapProfile,
  mergeAttributeMapping,
  type AttributeValues,
  type MappedProfile,
} from '../domain/attributeMapping';
import { ENTRA_NAME_ID_FORMAT, entraUser, type EntraUser } from './entraUsers';
import { measure, printJsonLine, printTable, ratioNote, type MeasureOptions } from './harness';

const BATCH = 100;
const OPTIONS: MeasureOptions = { warmup: 300, iterations: 2000, rounds: 4, opsPerRun: BATCH };
// Distinct users, so each call does not see the very same strings and objects.
const USER_COUNT = 64;

export async function runMapProfileBench(): Promise<void> {
  const users: EntraUser[] = Array.from({ length: USER_COUNT }, (_, i) => entraUser(i));
  const userAt = (index: number, j: number): EntraUser => {
    const user = users[(index * BATCH + j) % USER_COUNT];
    if (!user) throw new Error('no user');
    return user;
  };
  // Results are kept so V8 cannot drop the work as unused.
  const mapped: MappedProfile[] = new Array<MappedProfile>(BATCH);
  const copies: AttributeValues[] = new Array<AttributeValues>(BATCH);
  const defaults = mergeAttributeMapping(undefined);

  const [subjectStats, mapOnlyStats, baselineStats] = await measure(
    [
      {
        // Connectors usually have no custom mapping: the route then merges the defaults alone.
        name: 'mergeAttributeMapping + mapProfile',
        run(index) {
          for (let j = 0; j < BATCH; j += 1) {
            const user = userAt(index, j);
            mapped[j] = mapProfile(
              user.attributes,
              user.nameId,
              ENTRA_NAME_ID_FORMAT,
              mergeAttributeMapping(undefined),
            );
          }
        },
      },
      {
        name: 'mapProfile (mapping merged once)',
        run(index) {
          for (let j = 0; j < BATCH; j += 1) {
            const user = userAt(index, j);
            mapped[j] = mapProfile(user.attributes, user.nameId, ENTRA_NAME_ID_FORMAT, defaults);
          }
        },
      },
      {
        name: 'object copy { ...attributes }',
        run(index) {
          for (let j = 0; j < BATCH; j += 1) copies[j] = { ...userAt(index, j).attributes };
        },
      },
    ],
    OPTIONS,
  );
  if (!subjectStats || !mapOnlyStats || !baselineStats) throw new Error('measure returned too few results');
  // Checked after timing: the figures only count if mapping found what Entra sent.
  const sample = mapped[0];
  if (!sample?.email?.endsWith('@contoso.example') || sample.name === undefined)
    throw new Error('mapProfile did not map the Entra ID claims');
  if (Object.keys(copies[0] ?? {}).length !== Object.keys(users[0]?.attributes ?? {}).length)
    throw new Error('the copy lost attributes');

  printTable(
    `mapProfile: ${Object.keys(users[0]?.attributes ?? {}).length} Entra ID claims per user, timed in batches of ${BATCH}`,
    [subjectStats, mapOnlyStats, baselineStats],
    [
      ratioNote(subjectStats, baselineStats),
      'latencies are per call, averaged over each batch, so p99 is that of batch averages',
    ],
  );
  printJsonLine('map-profile', subjectStats, baselineStats, {
    map_only: {
      ops_per_s: Math.round(mapOnlyStats.opsPerSecond),
      p50_ms: Number(mapOnlyStats.p50Ms.toPrecision(4)),
      p99_ms: Number(mapOnlyStats.p99Ms.toPrecision(4)),
    },
  });
}
