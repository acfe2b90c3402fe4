/**
 * The README and docs/ link to each other and to files of the project: every relative link must
 * reach a file or folder, and every #anchor a heading of the page it names, so that moving or
 * renaming a section cannot silently break the way a newcomer reads in.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { root } from './helpers/e2e.ts';

/**
 * Pages other branches write in parallel: a link to one of them is checked once it exists.
 * Empty this list once they are all merged.
 */
const WRITTEN_ELSEWHERE = new Set<string>();

function markdownFiles(): string[] {
  const out = [path.join(root, 'README.md')];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  walk(path.join(root, 'docs'));
  return out;
}

/** The text outside fenced code blocks and inline code, where links are links; lines keep their numbers. */
function prose(text: string): string {
  return text.replace(/^(```|~~~)[\s\S]*?^\1/gm, (block) => block.replace(/[^\n]/g, '')).replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of text.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = m[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n ? `${slug}-${n}` : slug);
  }
  return out;
}

function links(file: string): Array<{ target: string; line: number }> {
  const text = prose(fs.readFileSync(file, 'utf8'));
  const out: Array<{ target: string; line: number }> = [];
  for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    out.push({ target: m[1], line: text.slice(0, m.index).split('\n').length });
  }
  return out;
}

describe('links in the README and docs/', () => {
  const files = markdownFiles();

  it('finds the pages it checks', () => {
    const rel = files.map((f) => path.relative(root, f));
    expect(rel).toEqual(expect.arrayContaining(['README.md', 'docs/architecture.md', 'docs/spec-reference.md', 'docs/operations.md', 'docs/performance.md', 'docs/clients.md', 'docs/evidence.md']));
  });

  it('every relative link reaches a file, and every anchor a heading', () => {
    const broken: string[] = [];
    for (const file of files) {
      for (const { target, line } of links(file)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [pathPart, anchor] = target.split('#') as [string, string | undefined];
        const resolved = pathPart ? path.resolve(path.dirname(file), decodeURIComponent(pathPart)) : file;
        const where = `${path.relative(root, file)}:${line}: ${target}`;
        if (!resolved.startsWith(root)) {
          broken.push(`${where} (outside the project)`);
          continue;
        }
        if (!fs.existsSync(resolved)) {
          if (!WRITTEN_ELSEWHERE.has(path.relative(root, resolved))) broken.push(`${where} (no such file)`);
          continue;
        }
        if (anchor && resolved.endsWith('.md') && !anchors(fs.readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${where} (no heading #${anchor})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('catches a broken link and a broken anchor', () => {
    const page = '# Title\n\n## Two words\n\nSee [x](#two-words), [y](#missing) and `[z](#in-code)`.\n';
    expect(anchors(page)).toEqual(new Set(['title', 'two-words']));
    expect(links(path.join(root, 'README.md')).length).toBeGreaterThan(5);
    const targets = [...prose(page).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
    expect(targets).toEqual(['#two-words', '#missing']);
    expect(anchors(page).has('missing')).toBe(false);
  });

  it('the README stays a ten-minute read, and the client configurations are valid JSON', () => {
    expect(fs.readFileSync(path.join(root, 'README.md'), 'utf8').split('\n').length).toBeLessThanOrEqual(250);
    const clients = fs.readFileSync(path.join(root, 'docs/clients.md'), 'utf8');
    const blocks = [...clients.matchAll(/^```json\n([\s\S]*?)^```/gm)].map((m) => m[1]);
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    for (const b of blocks) expect(() => JSON.parse(b), b).not.toThrow();
  });
});
