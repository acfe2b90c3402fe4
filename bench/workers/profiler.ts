/**
 * A CPU profile of a bench worker over a window the driver chooses: with SPECGATE_BENCH_PROFILE_DIR
 * set, the first SIGUSR2 starts V8's sampling profiler and the second writes
 * `<dir>/<name>.cpuprofile` and reports on stdout. Start-up and warm-up stay out of the profile,
 * which a whole-process --cpu-prof cannot do.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { report } from '../child.ts';

export function profileOnSignal(name: string): void {
  const dir = process.env.SPECGATE_BENCH_PROFILE_DIR;
  if (!dir) return;
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    void (async () => {
      if (!running) {
        running = true;
        await session.post('Profiler.enable');
        // 200 µs: fine enough for a call of a few hundred µs of CPU, cheap enough not to distort it.
        await session.post('Profiler.setSamplingInterval', { interval: 200 });
        await session.post('Profiler.start');
        report({ profiling: true });
        return;
      }
      running = false;
      const { profile } = await session.post('Profiler.stop');
      const file = path.join(dir, `${name}.cpuprofile`);
      fs.writeFileSync(file, JSON.stringify(profile));
      report({ profile: file });
    })();
  });
}
