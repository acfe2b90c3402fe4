/** Every attack family, in the order the runner plays them (the record checks and tampering last). */
import type { Attack } from '../types.ts';
import { isolation } from './isolation.ts';
import { injection } from './injection.ts';
import { tokens } from './tokens.ts';

export const ATTACKS: Attack[] = [isolation, injection, tokens];
