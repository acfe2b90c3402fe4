// Types of openapi-fetch.js (see there).
export { default as createClient } from 'openapi-fetch';
export type * from 'openapi-fetch';
