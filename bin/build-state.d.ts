export const SOURCES: string[];
export const STAMP: string;
/** 'installed' (no sources: run dist), 'fresh' (checkout, dist up to date) or 'stale'. */
export function buildState(root: string): 'installed' | 'fresh' | 'stale';
