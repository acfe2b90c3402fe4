/**
 * The TypeScript compiler over the generated files, with the project's own compiler options
 * (tsconfig.json), so that `generate --typecheck` and `npm run typecheck` agree.
 */
import fs from 'node:fs';
import path from 'node:path';
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

function compilerOptions(): ts.CompilerOptions {
  const configFile = path.join(projectRoot, 'tsconfig.json');
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
  const worker = path.join(projectRoot, 'generator', 'emit', 'typecheck-worker.ts');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', worker, path.resolve(outDir), ...(options.files ?? [])], { maxBuffer: 64 * 1024 * 1024 }, (error, out, err) => {
      if (error) reject(new Error(`type check of ${outDir} failed to run: ${err || error.message}`));
      else resolve(out);
    });
  });
  return JSON.parse(stdout) as TypeProblem[];
}
