/**
 * The `specgate` command: thin wiring of the two halves. Each command lives in cli/commands/.
 */
import { Command, CommanderError } from 'commander';
import { registerInit } from './commands/init.ts';
import { registerOps } from './commands/ops.ts';
import { registerCheck } from './commands/check.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerPin } from './commands/pin.ts';
import { registerServe } from './commands/serve.ts';
import { registerDocs } from './commands/docs.ts';
import { registerPolicy } from './commands/policy.ts';
import { registerAdmin } from './commands/admin.ts';
import { registerAudit } from './commands/audit.ts';
import { registerApproval } from './commands/approval.ts';
import { registerAdminKey } from './commands/admin-key.ts';
import { registerCredential } from './commands/credential.ts';
import { registerTry } from './commands/try.ts';
import { registerCompletion } from './commands/completion.ts';

// A reader that stops early (`specgate ops doc.json | head`) closes the pipe: that ends the output, it is no failure.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const program = new Command()
  .name('specgate')
  .description('OpenAPI-to-MCP connector engine: YAML connector specs -> typed connectors -> a governed MCP runtime')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerInit(program);
registerOps(program);
registerCheck(program);
registerGenerate(program);
registerPin(program);
registerServe(program);
registerDocs(program);
registerPolicy(program);
registerAdmin(program);
registerAudit(program);
registerApproval(program);
registerAdminKey(program);
registerCredential(program);
registerTry(program);
registerCompletion(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  // Anything unexpected still ends with one clear line, never a bare stack.
  process.stderr.write(`specgate: ${(e as Error).message}\n`);
  if (process.env.SPECGATE_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
}
