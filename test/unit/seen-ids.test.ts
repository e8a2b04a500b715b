import { describe, expect, it } from 'vitest';
import { SeenIds } from '../../src/queue/find/seen-ids.js';

describe('the ids a walk has met', () => {
  it('remembers counter ids (every bit of a block, far apart) and any other id, and nothing else', () => {
    const seen = new SeenIds();
    const counter = ['0', '1', '31', '32', '4095', '4096', '123456789', '999999999999999'];
    const others = ['007', 'repeat:refresh-stock-cache:1714766400000', 'a-custom-id', '12a', ''];
    for (const id of [...counter, ...others]) seen.add(id);
    for (const id of [...counter, ...others]) expect(seen.has(id), id).toBe(true);
    for (const id of ['7', '2', '30', '33', '4094', '4097', '123456788', 'repeat:x', '0007', '1000000000000000']) expect(seen.has(id), id).toBe(false);
  });

  it('holds a million counter ids', () => {
    const seen = new SeenIds();
    for (let i = 1; i <= 1_000_000; i += 2) seen.add(String(i));
    let met = 0;
    for (let i = 1; i <= 1_000_000; i++) if (seen.has(String(i))) met++;
    expect(met).toBe(500_000);
  });
});
