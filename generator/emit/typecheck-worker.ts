/** Child-process entry of typecheckGeneratedInChild: prints the problems as JSON. */
import { typecheckGenerated } from './typecheck.ts';

const [outDir, ...files] = process.argv.slice(2);
process.stdout.write(JSON.stringify(typecheckGenerated(outDir, files.length ? { files } : {})));
