import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hostMatches, knownHostName, parseKnownHosts, verifyHostKey } from '../../src/deploy/apply/known-hosts.js';

/** docs/deployment.md: known_hosts entries as ssh reads them (the real-server test is test/integration/deploy-ssh-host-key.test.ts). */
const key = (type: string, body: string) => {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.from(body)]);
};
const A = key('ssh-ed25519', 'key-a');
const B = key('ssh-ed25519', 'key-b');
const hashed = (name: string) => {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
};

describe('item 4: known_hosts matching', () => {
  it('item 4: host names, [host]:port, comma lists, wildcards, negations and hashed names', () => {
    expect(knownHostName('h', 22)).toBe('h');
    expect(knownHostName('h', 2222)).toBe('[h]:2222');
    expect(hostMatches('prod.example.com,10.0.0.5', '10.0.0.5')).toBe(true);
    expect(hostMatches('prod.example.com', 'prod.example.org')).toBe(false);
    expect(hostMatches('*.example.com', 'prod.example.com')).toBe(true);
    expect(hostMatches('*.example.com,!evil.example.com', 'evil.example.com')).toBe(false);
    expect(hostMatches('prod?.example.com', 'prod1.example.com')).toBe(true);
    // A non-standard port is part of the name: a plain host entry does not cover it.
    expect(hostMatches('127.0.0.1', '[127.0.0.1]:2222')).toBe(false);
    expect(hostMatches('[127.0.0.1]:2222', '[127.0.0.1]:2222')).toBe(true);
    expect(hostMatches(hashed('[127.0.0.1]:2222'), '[127.0.0.1]:2222')).toBe(true);
    expect(hostMatches(hashed('[127.0.0.1]:2222'), '[127.0.0.1]:2223')).toBe(false);
  });

  it('item 4: known, unknown, changed and @revoked keys', () => {
    const text = [`# comment`, `h1 ssh-ed25519 ${A.toString('base64')}`, `@revoked * ssh-ed25519 ${B.toString('base64')}`, `garbage`].join('\n');
    const entries = parseKnownHosts(text, '/k');
    expect(entries).toHaveLength(2);
    expect(verifyHostKey(entries, ['/k'], 'h1', A).status).toBe('known');
    expect(verifyHostKey(entries, ['/k'], 'h2', A).status).toBe('unknown');
    expect(verifyHostKey(entries, ['/k'], 'h1', B).status).toBe('revoked');
    const changed = verifyHostKey(parseKnownHosts(`h1 ssh-ed25519 ${A.toString('base64')}`, '/k'), ['/k'], 'h1', B);
    expect(changed).toMatchObject({ status: 'changed', keyType: 'ssh-ed25519', entry: { file: '/k', line: 1 } });
    expect(changed.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]+$/);
  });
});
