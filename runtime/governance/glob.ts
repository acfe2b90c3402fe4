/**
 * Compiled picomatch globs (entitlements, quota scopes), shared by every call: compiling one
 * builds a regex, dearer than the rest of the step that uses it, and a deployment has few
 * distinct globs.
 */
import picomatch from 'picomatch';
import { LRUCache } from 'lru-cache';

const compiled = new LRUCache<string, (name: string) => boolean>({ max: 1_000 });

export function glob(pattern: string): (name: string) => boolean {
  let match = compiled.get(pattern);
  if (!match) {
    match = picomatch(pattern);
    compiled.set(pattern, match);
  }
  return match;
}
