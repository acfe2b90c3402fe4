/** Which spec files a command works on: the ones named, or every specs/*.yaml. */
import fs from 'node:fs';
import path from 'node:path';
import { defaultSpecsDir } from '../generator/paths.ts';

export function resolveSpecFiles(args: string[]): string[] {
  if (args.length) {
    const files: string[] = [];
    for (const a of args) {
      if (fs.existsSync(a) && fs.statSync(a).isDirectory()) files.push(...specsIn(a));
      else if (fs.existsSync(a)) files.push(path.resolve(a));
      else throw new Error(`no such spec file: ${a}`);
    }
    return files;
  }
  return specsIn(defaultSpecsDir);
}

function specsIn(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.resolve(dir, f));
}
