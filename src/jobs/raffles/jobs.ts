import { z } from 'zod';
import { defineJob, DEFAULT_BACKOFF_SECONDS, DEFAULT_TIMEOUT_SECONDS, DEFAULT_TRIES } from '../define.js';
import type { JobContext } from '../types.js';
import { drawRaffle, raffleIds, transitionRaffle, type TransitionOutcome } from './store.js';

const nowSec = () => Math.floor(Date.now() / 1000);
const emptySchema = z.object({}).loose();

async function updateStatuses(ctx: JobContext) {
  const redis = ctx.redis.queue;
  const now = nowSec();
  const changed: { id: string; from: string; to: string }[] = [];
  const invalid: string[] = [];
  let checked = 0;
  for (const id of await raffleIds(redis)) {
    ctx.signal.throwIfAborted();
    const r: TransitionOutcome = await transitionRaffle(redis, id, now);
    checked++;
    if (r.outcome === 'changed') {
      changed.push({ id, from: r.from || '(none)', to: r.to });
      ctx.log('raffle-status', { raffle: id, from: r.from || '(none)', to: r.to });
    } else if (r.outcome === 'invalid' || r.outcome === 'missing') invalid.push(id);
  }
  if (invalid.length) ctx.log('raffles-invalid', { level: 'warn', raffles: invalid, hint: 'see `rqctl raffles show <id>`' });
  return { checked, changed, invalid };
}

/** Every 5 minutes: `scheduled → active` at starts_at, `active → ended` at ends_at. */
export const UpdateRaffleStatuses = defineJob({
  name: 'UpdateRaffleStatuses',
  queue: 'default',
  description: 'move raffles scheduled → active → ended by their starts_at / ends_at',
  schema: emptySchema,
  tries: DEFAULT_TRIES,
  backoff: DEFAULT_BACKOFF_SECONDS,
  timeout: DEFAULT_TIMEOUT_SECONDS,
  run: (_p, ctx) => updateStatuses(ctx),
});

/**
 * Hourly: brings statuses up to date (a raffle past ends_at is ended even if the 5-minute job did not
 * run), then draws the winners of every ended raffle that has none, once.
 */
export const SelectRaffleWinners = defineJob({
  name: 'SelectRaffleWinners',
  queue: 'default',
  description: 'draw the winners of ended raffles, once, uniformly with a cryptographic RNG',
  schema: emptySchema,
  tries: DEFAULT_TRIES,
  backoff: DEFAULT_BACKOFF_SECONDS,
  timeout: DEFAULT_TIMEOUT_SECONDS,
  async run(_p, ctx) {
    const redis = ctx.redis.queue;
    const now = nowSec();
    const drawn: { id: string; winners: number; entries: number }[] = [];
    const invalid: { id: string; reason: string }[] = [];
    let alreadyDrawn = 0;
    for (const id of await raffleIds(redis)) {
      ctx.signal.throwIfAborted();
      await transitionRaffle(redis, id, now);
      const r = await drawRaffle(redis, id, now);
      if (r.outcome === 'drawn') {
        drawn.push({ id, winners: r.winners.length, entries: r.entries });
        ctx.log('raffle-drawn', { raffle: id, winners: r.winners.length, entries: r.entries });
      } else if (r.outcome === 'already-drawn') alreadyDrawn++;
      else if (r.outcome === 'invalid') invalid.push({ id, reason: r.reason });
    }
    return { drawn, alreadyDrawn, invalid };
  },
});
