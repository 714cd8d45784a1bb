/**
 * `npm run build`: the service as plain JavaScript, for the image. Node runs `src/` directly, but the
 * TypeScript stripper it loads for that (a WebAssembly module) keeps 20-35 MB for the life of the
 * process; stripping once at build time leaves a running bot without it (README, "Benchmarks").
 *
 *   node tools/build-dist.ts [--src DIR] [--out DIR]      (defaults: src, dist)
 *
 * Each `src/**\/*.ts` but the tests becomes `*.js` under the output folder, stripped by Node's own
 * `stripTypeScriptTypes`, which blanks the types in place: line and column numbers of a stack trace
 * are those of the source. Relative import specifiers ending in `.ts` are rewritten to `.js`. The
 * build refuses (exit 1) a file that needs more than stripping, or a relative specifier it cannot
 * resolve in the output.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** `from './x.ts'`, `import './x.ts'`, `import('./x.ts')`: a relative module specifier ending in `.ts`. */
const SPECIFIER = /((?:\bfrom|\bimport)\s*\(?\s*)(['"])(\.{1,2}\/[^'"\n]*?)\.ts\2/g;
/** Every relative specifier left after the rewrite, to check it names a file of the output. */
const RELATIVE = /(?:\bfrom|\bimport)\s*\(?\s*(['"])(\.{1,2}\/[^'"\n]*)\1/g;

export type BuildResult = { files: number; problems: string[] };

/**
 * Strips every non-test `.ts` under `srcDir` into `outDir` (emptied first; refused when the two
 * overlap, so a slip of `--out` cannot delete the sources).
 * @returns the number of files written, and what stopped the build (empty when it succeeded).
 */
export function buildDist(srcDir: string, outDir: string): BuildResult {
  const problems: string[] = [];
  // The output folder is emptied first: never the sources, a folder holding them, or one inside them.
  const [src, out] = [resolve(srcDir), resolve(outDir)];
  if (out === src || src.startsWith(`${out}${sep}`) || out.startsWith(`${src}${sep}`))
    return { files: 0, problems: [`--out ${outDir} overlaps --src ${srcDir}: refusing to empty it`] };
  const sources = listSources(srcDir);
  rmSync(outDir, { recursive: true, force: true });
  for (const file of sources) {
    const name = relative(srcDir, file);
    let code: string;
    try {
      code = stripTypeScriptTypes(readFileSync(file, 'utf8'), { mode: 'strip' });
    } catch (error) {
      problems.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const target = join(outDir, name.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(
      target,
      code.replace(SPECIFIER, (_, lead, quote, path) => `${lead}${quote}${path}.js${quote}`),
    );
  }
  for (const file of listFiles(outDir, '.js')) {
    for (const [, , specifier] of readFileSync(file, 'utf8').matchAll(RELATIVE)) {
      if (specifier && !existsSync(resolve(dirname(file), specifier)))
        problems.push(`${relative(outDir, file)}: imports ${specifier}, which is not in the build`);
    }
  }
  return { files: sources.length, problems };
}

function listSources(dir: string): string[] {
  return listFiles(dir, '.ts').filter((f) => !f.endsWith('.test.ts') && !f.endsWith('.d.ts'));
}

function listFiles(dir: string, extension: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(extension))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

// Run as a script (not imported by the bench or the tests); `import.meta.main` needs Node 24.2.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { src: { type: 'string' }, out: { type: 'string' } } });
  const srcDir = resolve(values.src ?? 'src');
  const outDir = resolve(values.out ?? 'dist');
  const { files, problems } = buildDist(srcDir, outDir);
  if (problems.length > 0 || files === 0) {
    process.stderr.write(
      `build failed:\n${problems.map((p) => `  ${p}\n`).join('') || `  no sources in ${srcDir}\n`}`,
    );
    process.exit(1);
  }
  process.stdout.write(
    `${files} files stripped from ${relative('.', srcDir) || '.'} into ${relative('.', outDir) || '.'}\n`,
  );
}
