import { LoggerService, SchedulerServiceTaskRunner } from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { DeferredEntity, EntityProvider, EntityProviderConnection } from '@backstage/plugin-catalog-node';
import { createHash } from 'node:crypto';

/** The path of meshbot's provider endpoint under its base URL. */
export const ENTITIES_PATH = '/backstage/entities';

/** Entities asked for per page unless configured otherwise. */
export const DEFAULT_PAGE_SIZE = 1000;

/** meshbot's largest page. */
export const MAX_PAGE_SIZE = 10000;

const MANAGED_BY_LOCATION = 'backstage.io/managed-by-location';
const MANAGED_BY_ORIGIN_LOCATION = 'backstage.io/managed-by-origin-location';

/** How often a walk whose snapshot meshbot no longer holds starts again. */
const WALK_ATTEMPTS = 3;

export interface MeshbotEntityProviderOptions {
  id: string;
  baseUrl: string;
  token: string;
  org?: string;
  installation?: string;
  /** Entities per page (meshbot's ?limit=); default 1000. */
  pageSize?: number;
  logger: LoggerService;
  /**
   * Runs the refreshes once the catalog connects the provider, as
   * Backstage's own providers are scheduled. Without one, refresh() is
   * called by whoever owns the provider (tests).
   */
  taskRunner?: SchedulerServiceTaskRunner;
  /** Replaces the global fetch; for a proxy agent, say. */
  fetch?: typeof fetch;
}

/** What one refresh did. */
export type RefreshOutcome =
  | { status: 'applied'; mutation: 'full'; entities: number }
  | { status: 'applied'; mutation: 'delta'; entities: number; added: number; removed: number }
  | { status: 'unchanged' }
  /** The catalog has not connected the provider yet (early in startup). */
  | { status: 'skipped' }
  | { status: 'failed'; error: Error };

/** The payload the catalog publishes on `experimental.catalog.errors`. */
export interface CatalogErrorsEventPayload {
  entity: string;
  location?: string;
  errors: unknown[];
}

/** Thrown when meshbot answers 410 to a cursor: walk again from page one. */
class SnapshotGoneError extends Error {}

/** One page of meshbot's answer, as far as this module reads it. */
interface Page {
  snapshot?: string;
  total?: number;
  nextCursor?: string;
  entities: unknown[];
}

/**
 * Reads the mesh from meshbot's `GET /backstage/entities`, page by page, and
 * hands it to the catalog.
 *
 * The first run on a connection applies a full mutation, so the catalog
 * drops entities meshbot no longer reports, whatever an earlier process
 * applied. Later runs compare each entity with a hash of what was applied
 * and send a delta: the entities that are new or changed, and the refs of
 * those gone. Only the changed entities are held in memory, and never more
 * than one page of meshbot's JSON text at a time.
 *
 * The ETag of the first page is sent back as If-None-Match: while the mesh
 * is unchanged meshbot answers 304 and nothing else is read.
 */
export class MeshbotEntityProvider implements EntityProvider {
  private readonly opts: MeshbotEntityProviderOptions;
  private readonly logger: LoggerService;
  private readonly fetch: typeof fetch;
  private readonly pageSize: number;
  private connection?: EntityProviderConnection;
  private etag?: string;
  /** ref (lower-cased) → hash of the entity last applied; undefined before the first mutation of a connection. */
  private applied?: Map<string, string>;
  /** The processing error last logged per ref, so a repeated one is logged once. */
  private readonly loggedErrors = new Map<string, string>();

  constructor(opts: MeshbotEntityProviderOptions) {
    this.opts = { ...opts, baseUrl: opts.baseUrl.replace(/\/+$/, '') };
    this.logger = opts.logger;
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > MAX_PAGE_SIZE) {
      throw new Error(`pageSize ${opts.pageSize}: want a whole number from 1 to ${MAX_PAGE_SIZE}`);
    }
  }

  /** Stable across restarts: the catalog keys the provider's entities by it. */
  getProviderName(): string {
    return `meshbot:${this.opts.id}`;
  }

  /** The location key of every entity this provider emits. */
  get locationKey(): string {
    return `meshbot:${this.opts.id}`;
  }

  /** The id of the scheduled refresh task (persisted by the scheduler). */
  get taskId(): string {
    return `meshbot-entity-provider:${this.opts.id}:refresh`;
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    // A new connection has nothing applied yet: the next read is full.
    this.etag = undefined;
    this.applied = undefined;
    // Scheduled here, as the catalog's own providers are: a refresh
    // before the catalog connected the provider would have nowhere to go.
    await this.opts.taskRunner?.run({
      id: this.taskId,
      fn: async (signal?: AbortSignal) => {
        await this.refresh(signal);
      },
    });
  }

  /** Whether the entity (by ref) came from this provider's last mutation. */
  provides(entityRef: string): boolean {
    return this.applied?.has(entityRef.toLocaleLowerCase('en-US')) ?? false;
  }

  /**
   * Logs a catalog processing error (the catalog's
   * `experimental.catalog.errors` event) when it is about one of this
   * provider's entities, once per distinct error. Returns whether it was
   * ours.
   */
  processingError(payload: CatalogErrorsEventPayload): boolean {
    const ref = typeof payload?.entity === 'string' ? payload.entity : '';
    if (!ref || !this.provides(ref)) {
      return false;
    }
    const message = (Array.isArray(payload.errors) ? payload.errors : [])
      .map(e => (e instanceof Error || (typeof e === 'object' && e !== null && 'message' in e)
        ? `${(e as Error).name ?? 'Error'}: ${(e as Error).message}`
        : String(e)))
      .join('; ');
    const key = ref.toLocaleLowerCase('en-US');
    if (this.loggedErrors.get(key) === message) {
      return true; // the catalog reprocesses entities; say it once
    }
    this.loggedErrors.set(key, message);
    this.logger.warn(`catalog processing error for ${ref} (from ${this.getProviderName()}): ${message}`, {
      entityRef: ref,
      provider: this.getProviderName(),
    });
    return true;
  }

  /** The first page's URL, with the scoping parameters. */
  get url(): string {
    return this.pageUrl();
  }

  private pageUrl(cursor?: string): string {
    const u = new URL(this.opts.baseUrl + ENTITIES_PATH);
    if (this.opts.org) {
      u.searchParams.set('org', this.opts.org);
    }
    if (this.opts.installation) {
      u.searchParams.set('installation', this.opts.installation);
    }
    u.searchParams.set('limit', String(this.pageSize));
    if (cursor) {
      u.searchParams.set('cursor', cursor);
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
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.read(this.connection, signal);
        } catch (e) {
          if (!(e instanceof SnapshotGoneError) || attempt >= WALK_ATTEMPTS) {
            throw e;
          }
          this.logger.info(`${this.getProviderName()}: ${e.message}; reading again from the first page`);
        }
      }
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      this.logger.error(`${this.getProviderName()}: reading ${this.url} failed; the catalog keeps the entities it has: ${describe(error)}`);
      return { status: 'failed', error };
    }
  }

  private async read(connection: EntityProviderConnection, signal?: AbortSignal): Promise<RefreshOutcome> {
    const first = await this.get(this.pageUrl(), this.etag, signal);
    if (first === 'not-modified') {
      this.logger.debug(`${this.getProviderName()}: mesh unchanged (ETag ${this.etag})`);
      return { status: 'unchanged' };
    }
    const previous = this.applied;
    const full = previous === undefined;
    const hashes = new Map<string, string>();
    // Full: every entity; delta: the new and changed ones only.
    const changed: DeferredEntity[] = [];
    let page = first.page;
    let at = 0;
    for (let n = 1; ; n++) {
      const entities = parseEntities(page, this.opts.baseUrl, at);
      page.entities.forEach((raw, i) => {
        const entity = entities[i];
        const ref = stringifyEntityRef(entity).toLocaleLowerCase('en-US');
        if (hashes.has(ref)) {
          throw new Error(`entities[${at + i}] (${ref}) is given twice`);
        }
        const hash = hashOf(raw);
        hashes.set(ref, hash);
        if (previous?.get(ref) !== hash) {
          changed.push({ entity, locationKey: this.locationKey });
        }
      });
      at += entities.length;
      if (!page.nextCursor) {
        break;
      }
      const next = await this.get(this.pageUrl(page.nextCursor), undefined, signal);
      if (next === 'not-modified') {
        throw new Error(`page ${n + 1} answered 304 without If-None-Match`);
      }
      if (next.page.snapshot !== first.page.snapshot) {
        throw new Error(`page ${n + 1} is of snapshot ${next.page.snapshot}, the first of ${first.page.snapshot}`);
      }
      page = next.page;
    }
    if (first.page.total !== undefined && first.page.total !== at) {
      throw new Error(`read ${at} entities, meshbot announced ${first.page.total}`);
    }

    let outcome: RefreshOutcome;
    if (full || previous === undefined) {
      await connection.applyMutation({ type: 'full', entities: changed });
      outcome = { status: 'applied', mutation: 'full', entities: at };
      this.logger.info(`${this.getProviderName()}: applied ${at} entities from ${this.url}`);
    } else {
      const removed = [...previous.keys()]
        .filter(ref => !hashes.has(ref))
        .map(entityRef => ({ entityRef, locationKey: this.locationKey }));
      if (changed.length > 0 || removed.length > 0) {
        await connection.applyMutation({ type: 'delta', added: changed, removed });
      }
      outcome = { status: 'applied', mutation: 'delta', entities: at, added: changed.length, removed: removed.length };
      this.logger.info(
        `${this.getProviderName()}: mesh changed: ${changed.length} entities added or updated, ${removed.length} removed, ${at} in all`,
      );
    }
    // Remembered only once applied: a failed mutation must not turn the
    // next read into a 304 or a delta against what was never applied.
    for (const c of changed) {
      this.loggedErrors.delete(stringifyEntityRef(c.entity).toLocaleLowerCase('en-US'));
    }
    this.applied = hashes;
    this.etag = first.etag;
    return outcome;
  }

  /** GETs one page: 304 as 'not-modified', errors thrown with a hint. */
  private async get(
    url: string,
    ifNoneMatch: string | undefined,
    signal?: AbortSignal,
  ): Promise<'not-modified' | { page: Page; etag?: string }> {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Bearer ${this.opts.token}`,
    };
    if (ifNoneMatch) {
      headers['If-None-Match'] = ifNoneMatch;
    }
    const res = await this.fetch(url, { headers, signal });
    if (res.status === 304) {
      await res.body?.cancel();
      return 'not-modified';
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => '')).slice(0, 300).trim();
      if (res.status === 410) {
        throw new SnapshotGoneError(`meshbot no longer holds the snapshot being read${text ? ` (${text})` : ''}`);
      }
      const hint =
        res.status === 401
          ? ' (check the token against meshbot\'s MESHBOT_BACKSTAGE_TOKEN or MESHBOT_BACKSTAGE_ORG_TOKENS)'
          : res.status === 403
            ? ' (the token is an organisation\'s: org and installation must name that organisation\'s mesh)'
            : res.status === 404
              ? ' (is MESHBOT_BACKSTAGE_TOKEN set on meshbot? without it the endpoint is off)'
              : '';
      throw new Error(`HTTP ${res.status}${hint}${text ? `: ${text}` : ''}`);
    }
    // One page of text at a time: at 10,000 products the unpaged answer is
    // 77 MB of JSON.
    const body: unknown = JSON.parse(await res.text());
    if (!isObject(body) || !Array.isArray(body.entities)) {
      throw new Error('the answer is not {"entities": [...]}');
    }
    const page: Page = { entities: body.entities };
    if (typeof body.snapshot === 'string') {
      page.snapshot = body.snapshot;
    }
    if (typeof body.total === 'number') {
      page.total = body.total;
    }
    if (typeof body.nextCursor === 'string' && body.nextCursor !== '') {
      page.nextCursor = body.nextCursor;
    }
    return { page, etag: res.headers.get('ETag') ?? undefined };
  }
}

/** A short digest of an entity as meshbot wrote it (meshbot's JSON is deterministic). */
function hashOf(raw: unknown): string {
  return createHash('sha256').update(JSON.stringify(raw)).digest('base64').slice(0, 22);
}

/**
 * Checks the shape of meshbot's answer, `{"entities": [...]}`, before
 * anything reaches the catalog: a malformed answer must be refused whole
 * rather than applied in part. Entities without the managed-by annotations
 * get them, pointing at the endpoint, since the catalog needs them on
 * provider-emitted entities. `at` is the index of the page's first entity
 * in the whole answer, for messages.
 */
export function parseEntities(body: unknown, baseUrl: string, at = 0): Entity[] {
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
      throw new Error(`entities[${at + i}] is not an entity (apiVersion, kind and metadata.name are required)`);
    }
    const given = raw.metadata.annotations;
    if (given !== undefined && (!isObject(given) || Object.values(given).some(v => typeof v !== 'string'))) {
      throw new Error(`entities[${at + i}] (${raw.kind} ${raw.metadata.name}): metadata.annotations is not a map of strings`);
    }
    if (raw.metadata.namespace !== undefined && typeof raw.metadata.namespace !== 'string') {
      throw new Error(`entities[${at + i}] (${raw.kind} ${raw.metadata.name}): metadata.namespace is not a string`);
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
