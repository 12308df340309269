// npm run build [-- OUT_DIR]: the JavaScript the production image runs (`node dist/api.js`,
// `node dist/worker.js`). esbuild bundles our TypeScript per entry point and leaves packages to
// node_modules; the workflow code is bundled ahead of time into workflow-bundle.js beside them, so
// the worker needs neither the TypeScript sources nor a bundling step at start. Type checking
// stays with `npm run typecheck`. The build fails if production code imports a package that is
// not a production dependency (the image installs those only).
import { readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { build } from 'esbuild';
import { PREBUILT_WORKFLOW_BUNDLE, WORKFLOWS_PATH } from '../temporal/worker';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY_POINTS = ['api.ts', 'worker.ts'];
/** Worker-thread modules, loaded by file name at run time: each is bundled on its own too. */
const THREAD_ENTRY_POINTS = [{ in: 'sso/saml/validationThread.ts', out: 'samlValidationWorker' }];

/** `koa`, `@koa/router/x` → the package name a bare import resolves to. */
function packageName(specifier: string): string {
  const [scope, name] = specifier.split('/');
  return specifier.startsWith('@') ? `${scope}/${name}` : scope!;
}

async function main(): Promise<void> {
  const outDir = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist'));
  await rm(outDir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [
      ...ENTRY_POINTS.map((entry) => ({ in: entry, out: path.basename(entry, '.ts') })),
      ...THREAD_ENTRY_POINTS,
    ],
    outdir: outDir,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  });

  const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const builtins = new Set(builtinModules);
  const imported = Object.values(result.metafile.outputs)
    .flatMap((output) => output.imports)
    .filter((entry) => entry.external && !entry.path.startsWith('node:') && !builtins.has(entry.path))
    .map((entry) => packageName(entry.path));
  const missing = [...new Set(imported)].filter((name) => !manifest.dependencies?.[name]);
  if (missing.length)
    throw new Error(
      `production code imports packages that are not production dependencies: ${missing.join(', ')}`,
    );

  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: new DefaultLogger('WARN'),
  });
  await writeFile(path.join(outDir, PREBUILT_WORKFLOW_BUNDLE), code);
  console.log(
    `built ${[...ENTRY_POINTS, ...THREAD_ENTRY_POINTS.map((entry) => `${entry.out}.js`)].join(', ')} and ${PREBUILT_WORKFLOW_BUNDLE} into ${outDir}`,
  );
}

await main();
