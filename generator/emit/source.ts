/** The one place generated files get their ts-morph settings and their header. */
import { IndentationText, Project, QuoteKind, type Node, type SourceFile, type SourceFileStructure, type OptionalKind } from 'ts-morph';
import { generatedHeader } from './header.ts';

export function sourceFile(name: string, structure: OptionalKind<SourceFileStructure> | string = ''): SourceFile {
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces, quoteKind: QuoteKind.Double },
  });
  return project.createSourceFile(name, structure);
}

/**
 * Header first: ts-morph would put inserted imports above a leading comment. `replace` puts
 * other text in place of one node of the file (see model-file.ts).
 */
export function render(file: SourceFile, specFile?: string, replace?: { node: Node; text: string }): string {
  let text = file.getFullText();
  if (replace) text = `${text.slice(0, replace.node.getStart())}${replace.text}${text.slice(replace.node.getEnd())}`;
  return `${generatedHeader(specFile)}\n${text}`;
}
