/**
 * The JavaScript twin of an emitted module: what Node loads at run time, with no TypeScript
 * loader, beside the .ts that `tsc` and editors check. TypeScript's single-file transpiler (the
 * one bundled with ts-morph, already loaded) removes the types and rewrites `./x.ts` imports to
 * `./x.js`; it keeps the generated header, so the writer recognises the file as ours.
 */
import { ts } from 'ts-morph';

const OPTIONS: import('ts-morph').ts.CompilerOptions = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2022,
  rewriteRelativeImportExtensions: true,
  newLine: ts.NewLineKind.LineFeed,
};

/** `client.ts` -> `client.js`. */
export function javaScriptName(tsName: string): string {
  if (!tsName.endsWith('.ts')) throw new Error(`${tsName}: not a TypeScript file name`);
  return `${tsName.slice(0, -3)}.js`;
}

export function transpiled(tsName: string, text: string): string {
  const { outputText, diagnostics } = ts.transpileModule(text, { fileName: tsName, compilerOptions: OPTIONS, reportDiagnostics: true });
  if (diagnostics?.length) {
    const first = diagnostics[0];
    throw new Error(`${tsName}: emitted TypeScript does not transpile: ${ts.flattenDiagnosticMessageText(first.messageText, '\n')}`);
  }
  return outputText;
}
