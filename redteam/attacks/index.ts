/** Every attack family, in the order the runner plays them: the record checks and tampering last. */
import type { Attack } from '../types.ts';
import { authorization } from './authorization.ts';
import { crash } from './crash.ts';
import { flood } from './flood.ts';
import { httpRefusals } from './http-refusals.ts';
import { injection } from './injection.ts';
import { isolation } from './isolation.ts';
import { limits } from './limits.ts';
import { protocol } from './protocol.ts';
import { replay } from './replay.ts';
import { secrets } from './secrets.ts';
import { storePath } from './store-path.ts';
import { tamper } from './tamper.ts';
import { tokens } from './tokens.ts';

export const ATTACKS: Attack[] = [isolation, injection, tokens, authorization, replay, limits, httpRefusals, protocol, flood, storePath, crash, secrets, tamper];
