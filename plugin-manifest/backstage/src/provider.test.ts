import { LoggerService } from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { EntityProviderConnection, EntityProviderMutation } from '@backstage/plugin-catalog-node';
import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MeshbotEntityProvider, parseEntities } from './provider';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local HTTP server standing in for meshbot; each test sets handle. */
class Meshbot {
  handle: Handler = (_req, res) => res.writeHead(500).end();
  requests: IncomingMessage[] = [];
  private server: Server = createServer((req, res) => {
    this.requests.push(req);
    this.handle(req, res);
  });
  async start(): Promise<string> {
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise(resolve => this.server.close(resolve));
  }
}

type Line = { level: string; message: string };

function recordingLogger(lines: Line[] = []): LoggerService & { lines: Line[] } {
  const log = (level: string) => (message: string) => {
    lines.push({ level, message });
  };
  return {
    lines,
    error: log('error'),
    warn: log('warn'),
    info: log('info'),
    debug: log('debug'),
    child: () => recordingLogger(lines),
  };
}

class RecordingConnection implements EntityProviderConnection {
  mutations: EntityProviderMutation[] = [];
  fail?: Error;
  async applyMutation(mutation: EntityProviderMutation): Promise<void> {
    if (this.fail) {
      throw this.fail;
    }
    this.mutations.push(mutation);
  }
  async refresh(): Promise<void> {}
}

function entity(kind: string, name: string, annotations?: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) },
    spec: {},
  };
}

const located = {
  'backstage.io/managed-by-location': 'url:https://github.com/acme/mesh/blob/main/finance/revenue/dataproduct.yaml',
  'backstage.io/managed-by-origin-location': 'url:https://github.com/acme/mesh/blob/main/finance/revenue/dataproduct.yaml',
};

function answer(res: ServerResponse, entities: Entity[], etag: string, gzip = false) {
  const body = Buffer.from(JSON.stringify({ entities }));
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ETag: etag };
  if (gzip) {
    headers['Content-Encoding'] = 'gzip';
  }
  res.writeHead(200, headers).end(gzip ? gzipSync(body) : body);
}

describe('MeshbotEntityProvider', () => {
  const meshbot = new Meshbot();
  let baseUrl = '';
  before(async () => {
    baseUrl = await meshbot.start();
  });
  after(() => meshbot.stop());

  function provider(opts: { token?: string; org?: string; installation?: string } = {}) {
    const logger = recordingLogger();
    const p = new MeshbotEntityProvider({
      id: 'prod',
      baseUrl: `${baseUrl}/`,
      token: opts.token ?? 's3cret',
      org: opts.org,
      installation: opts.installation,
      logger,
    });
    return { p, logger };
  }

  it('has a stable provider name and location key', () => {
    const { p } = provider();
    assert.equal(p.getProviderName(), 'meshbot:prod');
    assert.equal(p.locationKey, 'meshbot:prod');
  });

  it('applies a full mutation, then sends If-None-Match and leaves the catalog alone on 304', async () => {
    const { p, logger } = provider({ org: 'acme', installation: '7' });
    const conn = new RecordingConnection();
    await p.connect(conn);
    const entities = [entity('System', 'finance.revenue', located), entity('API', 'finance.revenue.iceberg-curated', located)];
    meshbot.requests = [];
    meshbot.handle = (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, { ETag: '"v1"' }).end();
        return;
      }
      answer(res, entities, '"v1"');
    };

    assert.deepEqual(await p.refresh(), { status: 'applied', entities: 2 });
    assert.equal(conn.mutations.length, 1);
    const m = conn.mutations[0];
    assert.equal(m.type, 'full');
    assert.deepEqual(
      m.type === 'full' ? m.entities : [],
      entities.map(e => ({ entity: e, locationKey: 'meshbot:prod' })),
    );
    const first = meshbot.requests[0];
    assert.equal(first.url, '/backstage/entities?org=acme&installation=7');
    assert.equal(first.headers.authorization, 'Bearer s3cret');
    assert.equal(first.headers['if-none-match'], undefined);
    assert.ok(p.provides('system:default/finance.revenue'));
    assert.ok(p.provides('API:default/Finance.Revenue.Iceberg-Curated'), 'refs compare case-insensitively');
    assert.ok(!p.provides('component:default/finance.revenue'));

    assert.deepEqual(await p.refresh(), { status: 'unchanged' });
    assert.equal(meshbot.requests[1].headers['if-none-match'], '"v1"');
    assert.equal(conn.mutations.length, 1, 'a 304 must not touch the catalog');
    assert.deepEqual(logger.lines.filter(l => l.level === 'error'), []);
  });

  it('reads a gzip-encoded answer', async () => {
    const { p } = provider();
    const conn = new RecordingConnection();
    await p.connect(conn);
    meshbot.handle = (req, res) => {
      assert.match(String(req.headers['accept-encoding']), /gzip/);
      answer(res, [entity('Group', 'team-finance', located)], '"g"', true);
    };
    assert.deepEqual(await p.refresh(), { status: 'applied', entities: 1 });
    const m = conn.mutations[0];
    assert.equal(m.type === 'full' ? m.entities[0].entity.metadata.name : '', 'team-finance');
  });

  it('logs a refused token, does not throw, and recovers on the next run', async () => {
    const { p, logger } = provider({ token: 'wrong' });
    const conn = new RecordingConnection();
    await p.connect(conn);
    meshbot.handle = (_req, res) => res.writeHead(401, { 'Content-Type': 'text/plain' }).end('bad token');
    const out = await p.refresh();
    assert.equal(out.status, 'failed');
    assert.equal(conn.mutations.length, 0);
    const errors = logger.lines.filter(l => l.level === 'error');
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /HTTP 401.*MESHBOT_BACKSTAGE_TOKEN.*bad token/);

    meshbot.handle = (_req, res) => answer(res, [entity('Group', 'team-a', located)], '"a"');
    assert.deepEqual(await p.refresh(), { status: 'applied', entities: 1 });
  });

  it('logs an unreachable meshbot with the reason', async () => {
    const closed = new Meshbot();
    const url = await closed.start();
    await closed.stop();
    const logger = recordingLogger();
    const p = new MeshbotEntityProvider({ id: 'x', baseUrl: url, token: 't', logger });
    await p.connect(new RecordingConnection());
    const out = await p.refresh();
    assert.equal(out.status, 'failed');
    assert.match(logger.lines.find(l => l.level === 'error')?.message ?? '', /ECONNREFUSED/);
  });

  it('refuses a malformed answer whole', async () => {
    const { p, logger } = provider();
    const conn = new RecordingConnection();
    await p.connect(conn);
    for (const body of ['[]', '{"entities": {}}', '{"entities": [{"kind": "API"}]}', 'not json']) {
      meshbot.handle = (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
      const out = await p.refresh();
      assert.equal(out.status, 'failed', body);
    }
    assert.equal(conn.mutations.length, 0);
    assert.equal(logger.lines.filter(l => l.level === 'error').length, 4);
  });

  it('forgets the ETag when the mutation fails, so the next run applies again', async () => {
    const { p, logger } = provider();
    const conn = new RecordingConnection();
    await p.connect(conn);
    meshbot.requests = [];
    meshbot.handle = (req, res) =>
      req.headers['if-none-match'] === '"e"' ? res.writeHead(304).end() : answer(res, [entity('Group', 'g', located)], '"e"');
    conn.fail = new Error('database is gone');
    assert.equal((await p.refresh()).status, 'failed');
    assert.match(logger.lines.find(l => l.level === 'error')?.message ?? '', /database is gone/);
    conn.fail = undefined;
    assert.deepEqual(await p.refresh(), { status: 'applied', entities: 1 });
    assert.equal(meshbot.requests[1].headers['if-none-match'], undefined);
  });

  it('skips quietly before the catalog connects it', async () => {
    const { p, logger } = provider();
    meshbot.requests = [];
    assert.deepEqual(await p.refresh(), { status: 'skipped' });
    assert.equal(meshbot.requests.length, 0);
    assert.deepEqual(logger.lines.filter(l => l.level === 'error'), []);
  });

  it('gives up at the abort signal', async () => {
    const { p, logger } = provider();
    await p.connect(new RecordingConnection());
    meshbot.handle = () => {}; // never answers
    const out = await p.refresh(AbortSignal.timeout(100));
    assert.equal(out.status, 'failed');
    assert.equal(logger.lines.filter(l => l.level === 'error').length, 1);
  });
});

describe('parseEntities', () => {
  it('keeps given managed-by annotations and fills missing ones with the endpoint', () => {
    const [kept, filled] = parseEntities({ entities: [entity('API', 'a', located), entity('API', 'b')] }, 'https://meshbot.example/');
    assert.deepEqual(kept.metadata.annotations, located);
    assert.deepEqual(filled.metadata.annotations, {
      'backstage.io/managed-by-location': 'url:https://meshbot.example/backstage/entities',
      'backstage.io/managed-by-origin-location': 'url:https://meshbot.example/backstage/entities',
    });
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['null', null, /not \{"entities"/],
    ['array', [], /not \{"entities"/],
    ['entities not a list', { entities: 1 }, /not \{"entities"/],
    ['entity not an object', { entities: ['x'] }, /entities\[0\]/],
    ['no metadata.name', { entities: [{ apiVersion: 'v', kind: 'API', metadata: {} }] }, /entities\[0\]/],
    ['second entity bad', { entities: [entity('API', 'a'), { kind: 'API' }] }, /entities\[1\]/],
    [
      'annotations not a map',
      { entities: [{ apiVersion: 'v', kind: 'API', metadata: { name: 'a', annotations: 'x' } }] },
      /API a\): metadata.annotations/,
    ],
    [
      'an annotation not a string',
      { entities: [{ apiVersion: 'v', kind: 'API', metadata: { name: 'a', annotations: { 'backstage.io/managed-by-location': 5 } } }] },
      /metadata.annotations is not a map of strings/,
    ],
  ];
  for (const [name, body, want] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseEntities(body, 'http://m'), want);
    });
  }
});

// A seeded random walk over JSON shapes near the valid one: parseEntities
// either refuses with an Error or returns one entity per input, each with
// both managed-by annotations, and never changes what it was given.
describe('parseEntities on random answers', () => {
  function rng(seed: number) {
    return () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
  }
  function value(r: () => number, depth: number): unknown {
    const pick = Math.floor(r() * (depth > 3 ? 5 : 8));
    switch (pick) {
      case 0: return null;
      case 1: return r() < 0.5;
      case 2: return Math.floor(r() * 100);
      case 3: return ['API', 'x', '', 'backstage.io/v1alpha1'][Math.floor(r() * 4)];
      case 4: return undefined;
      case 5: return Array.from({ length: Math.floor(r() * 3) }, () => value(r, depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (const k of ['apiVersion', 'kind', 'metadata', 'name', 'annotations', 'entities', 'backstage.io/managed-by-location']) {
          if (r() < 0.5) {
            o[k] = value(r, depth + 1);
          }
        }
        return o;
      }
    }
  }
  it('holds for 5,000 answers', () => {
    const r = rng(20261121);
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const body = r() < 0.5 ? { entities: Array.from({ length: Math.floor(r() * 4) }, () => value(r, 1)) } : value(r, 0);
      const before = JSON.stringify(body);
      let out: Entity[] | undefined;
      try {
        out = parseEntities(body, 'http://m');
      } catch (e) {
        assert.ok(e instanceof Error, `threw a non-Error for ${before}`);
      }
      assert.equal(JSON.stringify(body), before, 'input changed');
      if (out) {
        accepted++;
        assert.equal(out.length, (body as { entities: unknown[] }).entities.length);
        for (const e of out) {
          assert.equal(typeof e.metadata.annotations?.['backstage.io/managed-by-location'], 'string');
          assert.equal(typeof e.metadata.annotations?.['backstage.io/managed-by-origin-location'], 'string');
        }
      }
    }
    assert.ok(accepted > 0, 'the walk never produced an acceptable answer');
  });
});
