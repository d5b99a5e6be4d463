import { LoggerService } from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { JsonObject } from '@backstage/types';
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

    assert.deepEqual(await p.refresh(), { status: 'applied', mutation: 'full', entities: 2 });
    assert.equal(conn.mutations.length, 1);
    const m = conn.mutations[0];
    assert.equal(m.type, 'full');
    assert.deepEqual(
      m.type === 'full' ? m.entities : [],
      entities.map(e => ({ entity: e, locationKey: 'meshbot:prod' })),
    );
    const first = meshbot.requests[0];
    assert.equal(first.url, '/backstage/entities?org=acme&installation=7&limit=1000');
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
    assert.deepEqual(await p.refresh(), { status: 'applied', mutation: 'full', entities: 1 });
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
    assert.deepEqual(await p.refresh(), { status: 'applied', mutation: 'full', entities: 1 });
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
    assert.deepEqual(await p.refresh(), { status: 'applied', mutation: 'full', entities: 1 });
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

/**
 * Serves entities as meshbot pages them: ?limit=N, then ?cursor= (here the
 * offset) with the snapshot id in every page, the first page's ETag
 * answered 304.
 */
function paged(state: { entities: Entity[]; snapshot: string; gone?: Set<string> }): Handler {
  return (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const limit = Number(u.searchParams.get('limit') ?? '1000');
    const cursor = u.searchParams.get('cursor');
    const [snap, off] = cursor ? cursor.split(':') : [state.snapshot, '0'];
    if (cursor && (snap !== state.snapshot || state.gone?.has(snap))) {
      res.writeHead(410, { 'Content-Type': 'application/json' }).end('{"error":"snapshot gone"}');
      return;
    }
    const from = Number(off);
    const etag = `"${state.snapshot}-${from}-${limit}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag }).end();
      return;
    }
    const to = Math.min(from + limit, state.entities.length);
    const body: Record<string, unknown> = {
      apiVersion: 'meshbot.io/v1',
      installations: [],
      snapshot: state.snapshot,
      total: state.entities.length,
      entities: state.entities.slice(from, to),
    };
    if (to < state.entities.length) {
      body.nextCursor = `${state.snapshot}:${to}`;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', ETag: etag }).end(JSON.stringify(body));
  };
}

function withSpec(e: Entity, spec: JsonObject): Entity {
  return { ...e, spec };
}

describe('MeshbotEntityProvider paging and deltas', () => {
  const meshbot = new Meshbot();
  let baseUrl = '';
  before(async () => {
    baseUrl = await meshbot.start();
  });
  after(() => meshbot.stop());

  const mesh = Array.from({ length: 23 }, (_, i) => entity('API', `p${String(i).padStart(2, '0')}`, located));

  it('reads every page, applies one full mutation, then deltas of what changed', async () => {
    const logger = recordingLogger();
    const p = new MeshbotEntityProvider({ id: 'm', baseUrl, token: 't', pageSize: 5, logger });
    const conn = new RecordingConnection();
    await p.connect(conn);
    const state = { entities: mesh, snapshot: 's1' };
    meshbot.handle = paged(state);
    meshbot.requests = [];

    assert.deepEqual(await p.refresh(), { status: 'applied', mutation: 'full', entities: 23 });
    assert.equal(meshbot.requests.length, 5, '23 entities in pages of 5');
    assert.deepEqual(
      meshbot.requests.map(r => new URL(r.url ?? '', 'http://x').searchParams.get('cursor')),
      [null, 's1:5', 's1:10', 's1:15', 's1:20'],
    );
    const full = conn.mutations[0];
    assert.equal(full.type, 'full');
    assert.deepEqual(full.type === 'full' ? full.entities.map(e => e.entity.metadata.name) : [], mesh.map(e => e.metadata.name));

    // Unchanged: one request, answered 304.
    meshbot.requests = [];
    assert.deepEqual(await p.refresh(), { status: 'unchanged' });
    assert.equal(meshbot.requests.length, 1);

    // One entity changed, one removed, one added: a delta of those only.
    state.entities = [...mesh.slice(0, 3), withSpec(mesh[3], { owner: 'group:acme/new' }), ...mesh.slice(5), entity('API', 'new', located)];
    state.snapshot = 's2';
    assert.deepEqual(await p.refresh(), { status: 'applied', mutation: 'delta', entities: 23, added: 2, removed: 1 });
    const delta = conn.mutations[1];
    assert.equal(delta.type, 'delta');
    if (delta.type === 'delta') {
      assert.deepEqual(delta.added.map(e => e.entity.metadata.name), ['p03', 'new']);
      assert.deepEqual(delta.added.map(e => e.locationKey), ['meshbot:m', 'meshbot:m']);
      assert.deepEqual(delta.removed, [{ entityRef: 'api:default/p04', locationKey: 'meshbot:m' }]);
    }
    assert.ok(p.provides('api:default/new') && !p.provides('api:default/p04'));

    // A new snapshot with the same entities (the registry version moved
    // for a file that maps to nothing new): nothing to apply.
    state.snapshot = 's3';
    assert.deepEqual(await p.refresh(), { status: 'applied', mutation: 'delta', entities: 23, added: 0, removed: 0 });
    assert.equal(conn.mutations.length, 2);

    // A new connection (the catalog restarted the provider) starts full.
    await p.connect(conn);
    assert.equal((await p.refresh()).status, 'applied');
    assert.equal(conn.mutations[2].type, 'full');
    assert.deepEqual(logger.lines.filter(l => l.level === 'error'), []);
  });

  it('starts the walk again when meshbot no longer holds its snapshot, and gives up after three', async () => {
    const logger = recordingLogger();
    const p = new MeshbotEntityProvider({ id: 'g', baseUrl, token: 't', pageSize: 10, logger });
    const conn = new RecordingConnection();
    await p.connect(conn);
    const state = { entities: mesh, snapshot: 'a', gone: new Set<string>() };
    meshbot.handle = paged(state);
    // The snapshot moves after every first page, as a busy registry might.
    let firstPages = 0;
    const serve = meshbot.handle;
    meshbot.handle = (req, res) => {
      if (!req.url?.includes('cursor=')) {
        firstPages++;
        if (firstPages < 3) {
          state.gone.add(state.snapshot);
        }
      }
      serve(req, res);
      if (!req.url?.includes('cursor=') && firstPages < 3) {
        state.snapshot = `a${firstPages}`;
      }
    };
    assert.deepEqual(await p.refresh(), { status: 'applied', mutation: 'full', entities: 23 });
    assert.equal(firstPages, 3);
    assert.equal(conn.mutations.length, 1, 'only the complete walk is applied');

    // Always gone: a failure after three walks, nothing applied.
    const q = new MeshbotEntityProvider({ id: 'g2', baseUrl, token: 't', pageSize: 10, logger });
    const conn2 = new RecordingConnection();
    await q.connect(conn2);
    const firstPage = paged({ entities: mesh, snapshot: 'z' });
    meshbot.handle = (req, res) => (req.url?.includes('cursor=') ? res.writeHead(410).end('gone') : firstPage(req, res));
    const out = await q.refresh();
    assert.equal(out.status, 'failed');
    assert.equal(conn2.mutations.length, 0);
  });

  it('refuses a walk whose pages disagree, whole', async () => {
    const logger = recordingLogger();
    const p = new MeshbotEntityProvider({ id: 'd', baseUrl, token: 't', pageSize: 10, logger });
    const conn = new RecordingConnection();
    await p.connect(conn);
    const cases: Array<[string, (body: Record<string, unknown>, cursor: string | null) => void, RegExp]> = [
      ['another snapshot', (b, c) => { if (c) b.snapshot = 'other'; }, /snapshot other/],
      ['a wrong total', b => { b.total = 99; }, /meshbot announced 99/],
      ['a repeated entity', (b, c) => { if (c) (b.entities as Entity[])[0] = mesh[0]; }, /given twice/],
      ['a bad entity on page 2', (b, c) => { if (c) (b.entities as unknown[])[1] = { kind: 'API' }; }, /entities\[11\]/],
    ];
    for (const [name, spoil, want] of cases) {
      meshbot.handle = (req, res) => {
        const u = new URL(req.url ?? '/', 'http://x');
        const cursor = u.searchParams.get('cursor');
        const from = cursor ? Number(cursor) : 0;
        const body: Record<string, unknown> = {
          snapshot: 's', total: mesh.length, entities: mesh.slice(from, from + 10).map(e => structuredClone(e)),
        };
        if (from + 10 < mesh.length) {
          body.nextCursor = String(from + 10);
        }
        spoil(body, cursor);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      };
      const out = await p.refresh();
      assert.equal(out.status, 'failed', name);
      assert.match(out.status === 'failed' ? out.error.message : '', want, name);
    }
    assert.equal(conn.mutations.length, 0);
  });

  it('reads a meshbot that does not page (one answer, no cursor)', async () => {
    const { p } = { p: new MeshbotEntityProvider({ id: 'old', baseUrl, token: 't', pageSize: 5, logger: recordingLogger() }) };
    const conn = new RecordingConnection();
    await p.connect(conn);
    meshbot.handle = (_req, res) => answer(res, mesh, '"old"');
    assert.deepEqual(await p.refresh(), { status: 'applied', mutation: 'full', entities: 23 });
  });

  it('logs processing errors of its own entities, once per distinct error', async () => {
    const logger = recordingLogger();
    const p = new MeshbotEntityProvider({ id: 'e', baseUrl, token: 't', logger });
    await p.connect(new RecordingConnection());
    meshbot.handle = paged({ entities: mesh.slice(0, 2), snapshot: 'e' });
    await p.refresh();
    const err = new Error('spec.owner is not a group');
    err.name = 'InputError';
    assert.equal(p.processingError({ entity: 'api:default/p00', errors: [err] }), true);
    assert.equal(p.processingError({ entity: 'API:default/P00', errors: [err] }), true);
    assert.equal(p.processingError({ entity: 'component:default/someone-elses', errors: [err] }), false);
    assert.equal(p.processingError({ entity: 'api:default/p00', errors: [new Error('another')] }), true);
    assert.equal(p.processingError({} as never), false);
    const warns = logger.lines.filter(l => l.level === 'warn').map(l => l.message);
    assert.deepEqual(warns, [
      'catalog processing error for api:default/p00 (from meshbot:e): InputError: spec.owner is not a group',
      'catalog processing error for api:default/p00 (from meshbot:e): Error: another',
    ]);
  });

  it('refuses a page size meshbot would refuse', () => {
    for (const pageSize of [0, 10001, 1.5]) {
      assert.throws(() => new MeshbotEntityProvider({ id: 'x', baseUrl, token: 't', pageSize, logger: recordingLogger() }), /pageSize/);
    }
  });
});
