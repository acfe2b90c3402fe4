/** The one place generated files get their ts-morph settings and their header. */
import { IndentationText, Project, QuoteKind, type SourceFile, type SourceFileStructure, type OptionalKind } from 'ts-morph';
import { generatedHeader } from './header.ts';

export function sourceFile(name: string, structure: OptionalKind<SourceFileStructure> | string = ''): SourceFile {
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces, quoteKind: QuoteKind.Double },
  });
  return project.createSourceFile(name, structure);
}

/** Header first: ts-morph would put inserted imports above a leading comment. */
export function render(file: SourceFile, specFile?: string): string {
  return `${generatedHeader(specFile)}\n${file.getFullText()}`;
}
