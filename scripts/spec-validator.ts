/**
 * `npm run spec-validator`: rewrites generator/spec/spec-validator.generated.ts, ajv's code for
 * spec.schema.json, after the schema changed (a test in test/spec-load.test.ts says when).
 */
import fs from 'node:fs';
import path from 'node:path';
import { VALIDATOR_FILE, validatorSource } from '../generator/spec/validator.ts';

fs.writeFileSync(VALIDATOR_FILE, validatorSource());
process.stdout.write(`wrote ${path.relative(process.cwd(), VALIDATOR_FILE)}\n`);
