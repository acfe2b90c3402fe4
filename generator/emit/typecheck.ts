/**
 * The TypeScript compiler over the generated files, with the project's own compiler options
 * (tsconfig.json), so that `generate --typecheck` and `npm run typecheck` agree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { projectRoot } from '../paths.ts';

export interface TypeProblem {
  /** Absolute path of the file the problem is in. */
  file: string;
  /** 1-based. */
  line: number;
  column: number;
  message: string;
}

/** Every problem tsc reports for the .ts files under outDir (or just `files`); [] means it compiles. */
export function typecheckGenerated(outDir: string, options: { files?: string[] } = {}): TypeProblem[] {
  const root = path.resolve(outDir);
  const rootNames = (options.files ?? listTs(root)).map((f) => path.resolve(root, f));
  if (rootNames.length === 0) return [];
  const program = ts.createProgram({ rootNames, options: compilerOptions() });
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program.getSyntacticDiagnostics(),
    ...program.getSemanticDiagnostics(),
  ];
  return diagnostics.map(toProblem).sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column);
}

/** The options generated code is checked with where specgate has no tsconfig.json (an installed package). */
const INSTALLED_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  // fetch, Response and AbortSignal from the DOM library: the user's project need not have @types/node.
  strict: true, esModuleInterop: true, lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'], types: [],
};

/**
 * `specgate/...` as this specgate's own files, so that an output folder outside any project that
 * has specgate installed (`generate --out /elsewhere`) checks too, against the runtime that serves it.
 */
function ownExports(): ts.MapLike<string[]> {
  const source = path.join(projectRoot, 'runtime', 'model.ts');
  return {
    'specgate/model': [fs.existsSync(source) ? source : path.join(projectRoot, 'dist', 'runtime', 'model.d.ts')],
    'specgate/openapi-fetch': [path.join(projectRoot, 'runtime', 'openapi-fetch.d.ts')],
  };
}

function compilerOptions(): ts.CompilerOptions {
  return { ...configuredOptions(), paths: ownExports() };
}

function configuredOptions(): ts.CompilerOptions {
  const configFile = path.join(projectRoot, 'tsconfig.json');
  if (!fs.existsSync(configFile)) return { ...INSTALLED_OPTIONS, noEmit: true, allowImportingTsExtensions: true, skipLibCheck: true };
  const read = ts.readConfigFile(configFile, (f) => ts.sys.readFile(f));
  if (read.error) throw new Error(`${configFile}: ${ts.flattenDiagnosticMessageText(read.error.messageText, '\n')}`);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, projectRoot, undefined, configFile);
  // Checking only: whatever the config says, nothing is written.
  return { ...parsed.options, noEmit: true, allowImportingTsExtensions: true, skipLibCheck: true };
}

function listTs(dir: string): string[] {
  if (!fs.existsSync(dir)) throw new Error(`${dir}: the output folder does not exist; run \`specgate generate\` first`);
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => path.join(dir, f));
}

function toProblem(d: ts.Diagnostic): TypeProblem {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  if (!d.file || d.start === undefined) return { file: '', line: 0, column: 0, message };
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return { file: path.resolve(d.file.fileName), line: line + 1, column: character + 1, message };
}

/**
 * The same check in a child process: tsc over a large connector takes seconds of synchronous
 * work, which would otherwise block the caller's event loop (a server, a test runner).
 */
export async function typecheckGeneratedInChild(outDir: string, options: { files?: string[] } = {}): Promise<TypeProblem[]> {
  const { execFile } = await import('node:child_process');
  // The worker beside this module: TypeScript through tsx from the sources, JavaScript from dist/.
  const worker = fileURLToPath(new URL(`./typecheck-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url));
  const loader = worker.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [...loader, worker, path.resolve(outDir), ...(options.files ?? [])], { maxBuffer: 64 * 1024 * 1024 }, (error, out, err) => {
      if (error) reject(new Error(`type check of ${outDir} failed to run: ${err || error.message}`));
      else resolve(out);
    });
  });
  return JSON.parse(stdout) as TypeProblem[];
}
