// CLI start: `rqctl --version` and `rqctl --help` vs `node -e ""` (BENCHMARKS.md: ≤ 1.6×). Measures the
// cost of what the CLI loads before it can answer; heavy modules must be imported lazily.
import { runMeasured, mustSucceed } from '../lib/proc.mjs';

const env = () => ({ PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' });

async function timed(cmd, args) {
  const res = mustSucceed(`${cmd} ${args.join(' ')}`, await runMeasured(cmd, args, { env: env(), rssEveryMs: 0 }));
  return { value: res.ms };
}

export default {
  id: 'cli-start',
  title: 'CLI start',
  measure: 'wall time of `rqctl --version` / `rqctl --help` vs `node -e ""`',
  kind: 'time',
  target: 1.6,
  rounds: { full: 25, quick: 5 },
  warmup: true,
  subjects: [
    { name: 'node -e ""', baseline: true, run: () => timed(process.execPath, ['-e', '']) },
    { name: '--version', run: (_s, ctx) => timed(process.execPath, [ctx.bin, '--version']) },
    { name: '--help', run: (_s, ctx) => timed(process.execPath, [ctx.bin, '--help']) },
  ],
};
