/**
 * What the OpenAPI half of the generator hands to selection and model building: a document
 * normalised to OpenAPI 3.x (Swagger 2.0 converted), with $refs kept (so it can be pruned and
 * fed to openapi-typescript), and a flat list of its operations.
 */

import type { OpenApiDocument } from '../../runtime/model.ts';

export type { OpenApiDocument };

export type SchemaObject = { [k: string]: unknown };

/** A parameter with any $ref resolved, path-level and operation-level merged. */
export interface ParameterInfo {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  description?: string;
  /** Schema as written in the document (may contain $refs into components). */
  schema: SchemaObject;
  style?: string;
  explode?: boolean;
  deprecated?: boolean;
}

export interface OperationInfo {
  method: string; // upper case: GET, HEAD, POST, ...
  path: string;
  /** The document's operationId, or a derived one (see derivedOperationId). */
  operationId: string;
  /** True when the document had none and one was derived from method and path. */
  derivedOperationId: boolean;
  /**
   * The operationId the document declares here when other operations declare it too (the first
   * keeps it as operationId, the others get derived ones): selecting by it is ambiguous.
   */
  sharedOperationId?: string;
  tags: string[];
  summary?: string;
  description?: string;
  deprecated: boolean;
  parameters: ParameterInfo[];
  /** The JSON request body schema if any (refs kept), with its content type. */
  requestBody?: { contentType: string; required: boolean; schema: SchemaObject; description?: string };
  /** The schema of the first 2xx JSON response (refs kept), if any. */
  responseSchema?: SchemaObject;
  /** Response content type chosen for responseSchema. */
  responseContentType?: string;
  /** JSON pointer to the operation object in the normalised document. */
  pointer: string;
  /** The security requirement in force (operation-level or global), scheme names only. */
  security: string[];
}

export interface LoadedDocument {
  /** As the spec or the command line gave it. */
  source: string;
  /** Absolute path or URL actually read. */
  location: string;
  /** sha256 (hex) of the raw bytes read, before any parsing or overlay. */
  sha256: string;
  /** The version as written: "2.0", "3.0.1", "3.1.0". */
  originalVersion: string;
  /** The document normalised to OpenAPI 3.x, overlays applied, refs kept. */
  document: OpenApiDocument;
  operations: OperationInfo[];
  /** Things the loader fixed or skipped, for the report (never silent). */
  notes: DocumentNote[];
}

export interface DocumentNote {
  severity: 'info' | 'warning';
  code: string;
  message: string;
  /** JSON pointer into the document, where relevant. */
  pointer?: string;
}
