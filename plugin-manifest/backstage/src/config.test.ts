import { ConfigReader } from '@backstage/config';
import { JsonValue } from '@backstage/types';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SCHEDULE, readMeshbotProviderConfigs } from './config';

function read(meshbot: JsonValue) {
  return readMeshbotProviderConfigs(new ConfigReader({ catalog: { providers: { meshbot } } }));
}

describe('readMeshbotProviderConfigs', () => {
  it('reads nothing when unconfigured', () => {
    assert.deepEqual(readMeshbotProviderConfigs(new ConfigReader({})), []);
  });

  it('reads a single provider as id default', () => {
    assert.deepEqual(read({ baseUrl: 'https://meshbot.example/', token: ' t0k ' }), [
      {
        id: 'default',
        baseUrl: 'https://meshbot.example',
        token: 't0k',
        org: undefined,
        installation: undefined,
        pageSize: undefined,
        schedule: DEFAULT_SCHEDULE,
      },
    ]);
  });

  it('reads a map of providers with schedules and scoping', () => {
    const got = read({
      acme: {
        baseUrl: 'http://meshbot:8080',
        token: 'a',
        org: 'acme',
        pageSize: 250,
        schedule: { frequency: { seconds: 5 }, timeout: { seconds: 30 }, initialDelay: { seconds: 1 } },
      },
      'globex-eu': { baseUrl: 'https://meshbot.globex.example', token: 'b', installation: 957387 },
    });
    assert.equal(got.length, 2);
    assert.deepEqual(got[0], {
      id: 'acme',
      baseUrl: 'http://meshbot:8080',
      token: 'a',
      org: 'acme',
      installation: undefined,
      pageSize: 250,
      schedule: { frequency: { seconds: 5 }, timeout: { seconds: 30 }, initialDelay: { seconds: 1 }, scope: undefined },
    });
    assert.equal(got[1].id, 'globex-eu');
    assert.equal(got[1].installation, '957387');
    assert.equal(got[1].schedule, DEFAULT_SCHEDULE);
  });

  it('reads a cron schedule', () => {
    const [c] = read({ baseUrl: 'http://m', token: 't', schedule: { frequency: { cron: '*/5 * * * *' }, timeout: 'PT1M' } });
    assert.deepEqual(c.schedule.frequency, { cron: '*/5 * * * *' });
  });

  const bad: Array<[string, JsonValue, RegExp]> = [
    ['missing token', { baseUrl: 'http://m' }, /token/],
    ['empty token', { baseUrl: 'http://m', token: '  ' }, /token is empty.*MESHBOT_BACKSTAGE_TOKEN/],
    ['missing baseUrl in a map', { one: { token: 't' } }, /baseUrl/],
    ['not a URL', { baseUrl: 'meshbot:8080', token: 't' }, /http\(s\) URL/],
    ['relative URL', { baseUrl: '/x', token: 't' }, /not a URL/],
    ['bad id', { 'a b': { baseUrl: 'http://m', token: 't' } }, /provider id "a b"/],
    ['page size 0', { baseUrl: 'http://m', token: 't', pageSize: 0 }, /pageSize: want a whole number/],
    ['page size too big', { baseUrl: 'http://m', token: 't', pageSize: 10001 }, /pageSize/],
    ['page size fraction', { baseUrl: 'http://m', token: 't', pageSize: 2.5 }, /pageSize/],
    ['bad schedule', { baseUrl: 'http://m', token: 't', schedule: { frequency: { lightyears: 1 } } }, /./],
  ];
  for (const [name, cfg, want] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => read(cfg), want);
    });
  }
});
