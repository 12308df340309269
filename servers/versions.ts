// The one place that pins the server versions. Bumping a version here makes every machine build
// (or download) the new binary on its next run, because the cache file name includes the version.

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
};
