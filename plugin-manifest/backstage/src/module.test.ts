import { coreServices, createServiceFactory, LoggerService } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import {
  CatalogProcessingExtensionPoint,
  catalogProcessingExtensionPoint,
  EntityProvider,
  EntityProviderConnection,
  EntityProviderMutation,
} from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { JsonObject } from '@backstage/types';
import assert from 'node:assert/strict';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CATALOG_ERRORS_TOPIC, catalogModuleMeshbot } from './module';
import { MeshbotEntityProvider } from './provider';

type Line = { level: string; message: string; meta?: unknown };

function recordingLogger(lines: Line[]): LoggerService {
  const log = (level: string) => (message: string, meta?: unknown) => {
    lines.push({ level, message, meta });
  };
  return { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug'), child: () => recordingLogger(lines) };
}

/** The catalog's extension point as the module sees it; the one slot it must leave alone throws. */
function extensionPoint(providers: EntityProvider[]): CatalogProcessingExtensionPoint {
  return {
    addEntityProvider(...ps: Array<EntityProvider | EntityProvider[]>) {
      providers.push(...ps.flat());
    },
    addProcessor() {},
    addPlaceholderResolver() {},
    setOnProcessingErrorHandler() {
      throw new Error('the module took the catalog\'s single processing-error handler');
    },
  } as unknown as CatalogProcessingExtensionPoint;
}

class RecordingConnection implements EntityProviderConnection {
  mutations: EntityProviderMutation[] = [];
  async applyMutation(m: EntityProviderMutation): Promise<void> {
    this.mutations.push(m);
  }
  async refresh(): Promise<void> {}
}

const located = {
  'backstage.io/managed-by-location': 'url:https://github.com/acme/mesh/blob/HEAD/a/dataproduct.yaml',
  'backstage.io/managed-by-origin-location': 'url:https://github.com/acme/mesh/blob/HEAD/a/dataproduct.yaml',
};

function entity(name: string): Entity {
  return { apiVersion: 'backstage.io/v1alpha1', kind: 'API', metadata: { name, namespace: 'acme', annotations: located }, spec: {} };
}

// The module wired into a test backend with Backstage's own mock services
// (config, scheduler, events): what it registers, how it schedules, and
// where processing errors go.
describe('catalogModuleMeshbot in a test backend', () => {
  let server: Server;
  let baseUrl = '';
  const requests: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'application/json', ETag: '"s-0-1000"' });
      res.end(JSON.stringify({ snapshot: 's', total: 2, entities: [entity('a'), entity('b')] }));
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise(r => server.close(r));
  });

  async function start(meshbot: JsonObject) {
    const providers: EntityProvider[] = [];
    const lines: Line[] = [];
    const scheduler = mockServices.scheduler();
    const events = mockServices.events();
    const backend = await startTestBackend({
      extensionPoints: [[catalogProcessingExtensionPoint, extensionPoint(providers)]],
      features: [
        catalogModuleMeshbot,
        mockServices.rootConfig.factory({ data: { catalog: { providers: { meshbot } } } }),
        // Backstage's mock scheduler: it runs a task only when triggered.
        createServiceFactory({ service: coreServices.scheduler, deps: {}, factory: () => scheduler }),
        createServiceFactory({ service: eventsServiceRef, deps: {}, factory: () => events }),
        createServiceFactory({ service: coreServices.logger, deps: {}, factory: () => recordingLogger(lines) }),
      ],
    });
    return { backend, providers, lines, scheduler, events };
  }

  it('adds one provider per configured meshbot and schedules each only when the catalog connects it', async () => {
    const { backend, providers, scheduler } = await start({
      acme: { baseUrl, token: 'a', org: 'acme', schedule: { frequency: { minutes: 3 }, timeout: { seconds: 30 } } },
      globex: { baseUrl, token: 'b', org: 'globex', pageSize: 50 },
    });
    try {
      assert.deepEqual(providers.map(p => p.getProviderName()), ['meshbot:acme', 'meshbot:globex']);
      assert.deepEqual(await scheduler.getScheduledTasks(), [], 'nothing is scheduled before connect()');

      const conn = new RecordingConnection();
      await providers[0].connect(conn);
      assert.deepEqual((await scheduler.getScheduledTasks()).map(t => t.id), ['meshbot-entity-provider:acme:refresh']);
      assert.equal(conn.mutations.length, 0, 'connect() schedules; the task runs the read');

      requests.length = 0;
      await scheduler.triggerTask('meshbot-entity-provider:acme:refresh');
      assert.deepEqual(requests, ['/backstage/entities?org=acme&limit=1000']);
      assert.equal(conn.mutations.length, 1);
      const m = conn.mutations[0];
      assert.deepEqual(m.type === 'full' ? m.entities.map(e => `${e.locationKey} ${e.entity.metadata.name}`) : m, [
        'meshbot:acme a',
        'meshbot:acme b',
      ]);

      await providers[1].connect(new RecordingConnection());
      requests.length = 0;
      await scheduler.triggerTask('meshbot-entity-provider:globex:refresh');
      assert.deepEqual(requests, ['/backstage/entities?org=globex&limit=50']);
    } finally {
      await backend.stop();
    }
  });

  it('logs catalog processing errors of its own entities from the catalog\'s events, leaving the handler slot alone', async () => {
    const { backend, providers, lines, scheduler, events } = await start({ baseUrl, token: 't' });
    try {
      const p = providers[0] as MeshbotEntityProvider;
      await p.connect(new RecordingConnection());
      await scheduler.triggerTask(p.taskId);
      await events.publish({
        topic: CATALOG_ERRORS_TOPIC,
        eventPayload: { entity: 'api:acme/a', location: located['backstage.io/managed-by-location'], errors: [new Error('bad owner')] },
      });
      await events.publish({
        topic: CATALOG_ERRORS_TOPIC,
        eventPayload: { entity: 'component:default/not-ours', errors: [new Error('theirs')] },
      });
      const warns = lines.filter(l => l.level === 'warn').map(l => l.message);
      assert.deepEqual(warns, ['catalog processing error for api:acme/a (from meshbot:default): Error: bad owner']);
    } finally {
      await backend.stop();
    }
  });

  it('warns and adds nothing when unconfigured', async () => {
    const { backend, providers, lines } = await start(undefined as unknown as JsonObject);
    try {
      assert.equal(providers.length, 0);
      assert.ok(lines.some(l => l.level === 'warn' && /not configured/.test(l.message)));
    } finally {
      await backend.stop();
    }
  });
});
