// The benchmark's job type, loaded by `rqctl worker` the way an operator loads their own
// (RQCTL_EXTRA_JOBS=bench/jobs/noop.mjs): it does nothing, so the worker rows measure rqctl's own
// path per job (registry lookup, payload validation, timeout and AbortSignal, logging) and BullMQ's.
import { z } from 'zod';

export default [
  {
    name: 'BenchNoop',
    queue: 'bench',
    description: 'does nothing (benchmarks)',
    schema: z.object({ i: z.number().int() }),
    async process() {
      return null;
    },
  },
];
