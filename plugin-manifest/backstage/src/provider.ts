import { LoggerService } from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { EntityProvider, EntityProviderConnection } from '@backstage/plugin-catalog-node';

/** The path of meshbot's provider endpoint under its base URL. */
export const ENTITIES_PATH = '/backstage/entities';

const MANAGED_BY_LOCATION = 'backstage.io/managed-by-location';
const MANAGED_BY_ORIGIN_LOCATION = 'backstage.io/managed-by-origin-location';

export interface MeshbotEntityProviderOptions {
  id: string;
  baseUrl: string;
  token: string;
  org?: string;
  installation?: string;
  logger: LoggerService;
  /** Replaces the global fetch; for a proxy agent, say. */
  fetch?: typeof fetch;
}

/** What one refresh did. */
export type RefreshOutcome =
  | { status: 'applied'; entities: number }
  | { status: 'unchanged' }
  /** The catalog has not connected the provider yet (early in startup). */
  | { status: 'skipped' }
  | { status: 'failed'; error: Error };

/**
 * Reads the mesh from meshbot's `GET /backstage/entities` and hands it to the
 * catalog as a full mutation, so entities meshbot no longer reports are
 * removed. The ETag of the last applied answer is sent back as
 * If-None-Match: while the mesh is unchanged meshbot answers 304 and the
 * catalog is not touched.
 */
export class MeshbotEntityProvider implements EntityProvider {
  private readonly opts: MeshbotEntityProviderOptions;
  private readonly logger: LoggerService;
  private readonly fetch: typeof fetch;
  private connection?: EntityProviderConnection;
  private etag?: string;
  private refs = new Set<string>();

  constructor(opts: MeshbotEntityProviderOptions) {
    this.opts = { ...opts, baseUrl: opts.baseUrl.replace(/\/+$/, '') };
    this.logger = opts.logger;
    this.fetch = opts.fetch ?? globalThis.fetch;
  }

  /** Stable across restarts: the catalog keys the provider's entities by it. */
  getProviderName(): string {
    return `meshbot:${this.opts.id}`;
  }

  /** The location key of every entity this provider emits. */
  get locationKey(): string {
    return `meshbot:${this.opts.id}`;
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    // A new connection has nothing applied yet: the next read must be full.
    this.etag = undefined;
  }

  /** Whether the entity (by ref) came from this provider's last mutation. */
  provides(entityRef: string): boolean {
    return this.refs.has(entityRef.toLocaleLowerCase('en-US'));
  }

  /** The URL read, with the scoping parameters. */
  get url(): string {
    const u = new URL(this.opts.baseUrl + ENTITIES_PATH);
    if (this.opts.org) {
      u.searchParams.set('org', this.opts.org);
    }
    if (this.opts.installation) {
      u.searchParams.set('installation', this.opts.installation);
    }
    return u.toString();
  }

  /**
   * One read. It never throws: a failure is logged and reported in the
   * outcome, the catalog keeps what it had, and the next scheduled run tries
   * again.
   */
  async refresh(signal?: AbortSignal): Promise<RefreshOutcome> {
    if (!this.connection) {
      this.logger.debug(`${this.getProviderName()}: the catalog has not connected this provider yet; reading on the next run`);
      return { status: 'skipped' };
    }
    try {
      return await this.read(signal);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      this.logger.error(`${this.getProviderName()}: reading ${this.url} failed; the catalog keeps the entities it has: ${describe(error)}`);
      return { status: 'failed', error };
    }
  }

  private async read(signal?: AbortSignal): Promise<RefreshOutcome> {
    const connection = this.connection;
    if (!connection) {
      throw new Error('not connected to the catalog yet');
    }
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Bearer ${this.opts.token}`,
    };
    if (this.etag) {
      headers['If-None-Match'] = this.etag;
    }
    const res = await this.fetch(this.url, { headers, signal });
    if (res.status === 304) {
      await res.body?.cancel();
      this.logger.debug(`${this.getProviderName()}: mesh unchanged (ETag ${this.etag})`);
      return { status: 'unchanged' };
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => '')).slice(0, 300).trim();
      const hint =
        res.status === 401 || res.status === 403
          ? ' (check the token against meshbot\'s MESHBOT_BACKSTAGE_TOKEN)'
          : res.status === 404
            ? ' (is MESHBOT_BACKSTAGE_TOKEN set on meshbot? without it the endpoint is off)'
            : '';
      throw new Error(`HTTP ${res.status}${hint}${text ? `: ${text}` : ''}`);
    }
    const body: unknown = await res.json();
    const entities = parseEntities(body, this.opts.baseUrl);
    await connection.applyMutation({
      type: 'full',
      entities: entities.map(entity => ({ entity, locationKey: this.locationKey })),
    });
    // Remembered only once applied: a failed mutation must not turn the
    // next read into a 304.
    this.etag = res.headers.get('ETag') ?? undefined;
    this.refs = new Set(entities.map(e => stringifyEntityRef(e).toLocaleLowerCase('en-US')));
    this.logger.info(`${this.getProviderName()}: applied ${entities.length} entities from ${this.url}`);
    return { status: 'applied', entities: entities.length };
  }
}

/**
 * Checks the shape of meshbot's answer, `{"entities": [...]}`, before
 * anything reaches the catalog: a full mutation replaces everything, so a
 * malformed answer must be refused whole rather than applied in part.
 * Entities without the managed-by annotations get them, pointing at the
 * endpoint, since the catalog needs them on provider-emitted entities.
 */
export function parseEntities(body: unknown, baseUrl: string): Entity[] {
  if (!isObject(body) || !Array.isArray(body.entities)) {
    throw new Error('the answer is not {"entities": [...]}');
  }
  const fallback = `url:${baseUrl.replace(/\/+$/, '')}${ENTITIES_PATH}`;
  return body.entities.map((raw: unknown, i: number): Entity => {
    if (
      !isObject(raw) ||
      typeof raw.apiVersion !== 'string' ||
      typeof raw.kind !== 'string' ||
      !isObject(raw.metadata) ||
      typeof raw.metadata.name !== 'string'
    ) {
      throw new Error(`entities[${i}] is not an entity (apiVersion, kind and metadata.name are required)`);
    }
    const given = raw.metadata.annotations;
    if (given !== undefined && (!isObject(given) || Object.values(given).some(v => typeof v !== 'string'))) {
      throw new Error(`entities[${i}] (${raw.kind} ${raw.metadata.name}): metadata.annotations is not a map of strings`);
    }
    const entity = raw as unknown as Entity;
    const annotations = { ...(entity.metadata.annotations ?? {}) };
    annotations[MANAGED_BY_LOCATION] ??= fallback;
    annotations[MANAGED_BY_ORIGIN_LOCATION] ??= annotations[MANAGED_BY_LOCATION];
    return { ...entity, metadata: { ...entity.metadata, annotations } };
  });
}

// fetch reports "fetch failed" and keeps the reason (ECONNREFUSED, a
// timeout) in cause.
function describe(error: Error): string {
  const parts = [error.message];
  let cause: unknown = error.cause;
  for (let i = 0; cause instanceof Error && i < 3; i++, cause = cause.cause) {
    parts.push(cause.message);
  }
  return parts.join(': ');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
