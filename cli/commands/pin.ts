import type { Command } from 'commander';
// Heavy modules load inside the action, so `--help` answers at once.
import path from 'node:path';
import { resolveSpecFiles } from '../specs.ts';

export function registerPin(program: Command): void {
  program
    .command('pin')
    .description("record each spec's document sha256 (after reviewing a vendor document change)")
    .argument('[specs...]', 'spec files or folders (default: specs/)')
    .action(async (args: string[]) => {
      const { pinSpec } = await import('../../generator/pin.ts');
      for (const file of resolveSpecFiles(args)) {
        const { changed, sha256 } = await pinSpec(file);
        process.stderr.write(`${path.relative(process.cwd(), file)}: ${changed ? `pinned to ${sha256}` : 'already pinned'}\n`);
      }
    });
}
