/**
 * Full-text search over a catalog's tools (MiniSearch, BM25+): names, titles, descriptions, tags,
 * connector and parameter names. One index per catalog version, built on first use; a caller's
 * visibility is a filter on the results, so the index itself is shared and holds no caller data.
 */
import MiniSearch from 'minisearch';
import { stemmer } from 'stemmer';
import type { Catalog } from '../catalog.ts';
import type { ToolModel } from '../model.ts';
import { toolsetSlug, toolsetsOf } from './toolsets.ts';

/** Words that carry no meaning in a technician's question or a tool's description. */
const STOP_WORDS = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'by', 'can', 'do', 'does', 'for', 'from', 'has', 'have', 'how', 'i', 'in', 'is',
  'it', 'its', 'me', 'my', 'of', 'on', 'or', 'our', 'show', 'that', 'the', 'their', 'them', 'there', 'these', 'this', 'to',
  'us', 'was', 'we', 'were', 'what', 'when', 'where', 'which', 'who', 'whose', 'why', 'will', 'with', 'you', 'your', 'all',
  'any', 'get', 'list', 'find', 'one', 'each', 'use', 'returns', 'tell', 'give', 'please',
]);

/** Lower-cased and stemmed (Porter), so "patches" finds "patch" and "expiring" finds "expiry". */
function processTerm(term: string): string | null {
  const lower = term.toLowerCase();
  if (lower.length < 2 || STOP_WORDS.has(lower)) return null;
  return stemmer(lower);
}

interface Document {
  id: string;
  name: string;
  title: string;
  description: string;
  tags: string;
  connector: string;
  parameters: string;
}

/** camelCase and snake_case parameter names as words: `clientId` -> "client id". */
function words(identifier: string): string {
  return identifier.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_.-]+/g, ' ');
}

function parameterText(tool: ToolModel): string {
  const schema = tool.inputSchema;
  if (typeof schema !== 'object' || schema === null) return '';
  const properties = (schema as { properties?: Record<string, { description?: unknown }> }).properties ?? {};
  return Object.keys(properties).map(words).join(' ');
}

function documentOf(tool: ToolModel, connectorTitle: string): Document {
  return {
    id: tool.name,
    name: words(tool.name),
    title: tool.title ?? '',
    description: tool.description,
    tags: tool.tags.map((t) => `${t} ${toolsetSlug(t)}`).join(' '),
    connector: `${tool.connector} ${connectorTitle}`,
    parameters: parameterText(tool),
  };
}

const indexes = new WeakMap<Catalog, MiniSearch<Document>>();

function indexOf(catalog: Catalog): MiniSearch<Document> {
  let index = indexes.get(catalog);
  if (index) return index;
  index = new MiniSearch<Document>({
    fields: ['name', 'title', 'description', 'tags', 'connector', 'parameters'],
    processTerm,
    searchOptions: {
      processTerm,
      boost: { name: 3, title: 3, tags: 1.5, connector: 2, description: 1, parameters: 0.5 },
      prefix: (term) => term.length > 3,
      fuzzy: (term) => (term.length > 5 ? 0.2 : false),
      combineWith: 'OR',
    },
  });
  const titles = new Map(catalog.connectors.map((c) => [c.model.name, c.model.title]));
  index.addAll(catalog.tools.map((t) => documentOf(t, titles.get(t.connector) ?? '')));
  indexes.set(catalog, index);
  return index;
}

export interface SearchHit {
  name: string;
  score: number;
}

export interface SearchOptions {
  /** Only these tools may appear (the caller's visible set). */
  visible: ReadonlySet<string>;
  /** Only tools of this toolset (a connector or a tag). */
  toolset?: string;
  limit?: number;
}

export const DEFAULT_SEARCH_LIMIT = 8;
export const MAX_SEARCH_LIMIT = 25;

export function searchTools(catalog: Catalog, query: string, options: SearchOptions): SearchHit[] {
  const inSet = options.toolset === undefined ? undefined : new Set(toolsetsOf(catalog).get(options.toolset)?.tools ?? []);
  const limit = Math.min(Math.max(1, options.limit ?? DEFAULT_SEARCH_LIMIT), MAX_SEARCH_LIMIT);
  const filter = (id: string): boolean => options.visible.has(id) && (inSet === undefined || inSet.has(id));
  const hits = indexOf(catalog).search(query, { filter: (r) => filter(r.id as string) });
  return hits.slice(0, limit).map((h) => ({ name: h.id as string, score: Math.round(h.score * 1000) / 1000 }));
}
