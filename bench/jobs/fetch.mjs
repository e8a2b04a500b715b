// The rate-limit bench's job type (bench/rows/worker-limits.mjs), loaded by `rqctl worker` through
// RQCTL_EXTRA_JOBS like an operator's own: shaped like a fetch job without the request. It takes a
// permit from the `bench` provider's budget (docs/rate-limits.md) and returns: with `limits: {bench:
// …}` configured that is a permit from the worker's lease or one Redis call; without, nothing is asked.
import { z } from 'zod';

export default [
  {
    name: 'BenchFetch',
    queue: 'bench',
    description: 'a rate-limit permit, then nothing (benchmarks)',
    schema: z.object({ i: z.number().int() }),
    async process(_data, ctx) {
      await ctx.limits.permit(ctx, 'bench');
      return null;
    },
  },
];
