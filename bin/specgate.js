#!/usr/bin/env node
// The CLI is TypeScript run through tsx's loader, so that the generated connectors (TypeScript)
// load the same way in the CLI, the runtime and the tests without a separate build step.
import { register } from 'tsx/esm/api';
register();
await import('../cli/main.ts');
