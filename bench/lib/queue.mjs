// Queue fixtures made with BullMQ itself, so both sides of a row start from the same jobs.
import { Queue } from 'bullmq';

export function connectionOf(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), db: Number(u.pathname.slice(1) || 0) };
}

/** Adds `n` jobs named `name` to `queue` in bulks of 1000. */
export async function fillQueue(url, queue, n, name, opts = {}, data = (i) => ({ i })) {
  const q = new Queue(queue, { connection: connectionOf(url), prefix: 'bull' });
  try {
    for (let i = 0; i < n; i += 1000) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) batch.push({ name, data: data(j), opts });
      await q.addBulk(batch);
    }
  } finally {
    await q.close();
  }
}

/**
 * Copies every key of DB `from` into DB `to` (emptied first) with SCAN + COPY: a filled queue is
 * built once per row and restored in about a second before each run, instead of re-adding N jobs.
 */
export async function copyDb(client, from, to) {
  await client.select(to);
  await client.flushdb();
  await client.select(from);
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    if (keys.length) {
      const p = client.pipeline();
      for (const k of keys) p.copy(k, k, 'DB', to);
      await p.exec();
    }
  } while (cursor !== '0');
  await client.select(to);
}
