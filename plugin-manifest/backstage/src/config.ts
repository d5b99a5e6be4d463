import {
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';

/** One meshbot deployment to read entities from. */
export interface MeshbotProviderConfig {
  /** Provider id: `default` for the single-object form, else the map key. */
  id: string;
  /** meshbot's base URL without a trailing slash. */
  baseUrl: string;
  token: string;
  /** Scoping query parameters passed to meshbot's endpoint. */
  org?: string;
  installation?: string;
  /** Entities per page of meshbot's answer; undefined: the provider's default. */
  pageSize?: number;
  schedule: SchedulerServiceTaskScheduleDefinition;
}

/** Where the module's configuration lives. */
export const CONFIG_PATH = 'catalog.providers.meshbot';

/**
 * Used when a provider has no schedule: the mesh changes at the pace of
 * merged pull requests, and the ETag makes an unchanged read nearly free.
 */
export const DEFAULT_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { minutes: 10 },
  timeout: { minutes: 2 },
  initialDelay: { seconds: 15 },
};

/**
 * Reads `catalog.providers.meshbot`: either one provider object (it has a
 * `baseUrl`), given the id `default`, or a map of provider ids to such
 * objects. No configuration means no providers.
 */
export function readMeshbotProviderConfigs(config: Config): MeshbotProviderConfig[] {
  const root = config.getOptionalConfig(CONFIG_PATH);
  if (!root) {
    return [];
  }
  if (root.has('baseUrl')) {
    return [readOne('default', root)];
  }
  return root.keys().map(id => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(id)) {
      // The id becomes part of the provider name and the task id, which
      // persist in the catalog database: keep it plain.
      throw new Error(
        `${CONFIG_PATH}: provider id "${id}" must start with a letter or digit and hold only letters, digits, '_' and '-'`,
      );
    }
    return readOne(id, root.getConfig(id));
  });
}

function readOne(id: string, c: Config): MeshbotProviderConfig {
  const baseUrl = c.getString('baseUrl').trim().replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new Error(`${CONFIG_PATH}${id === 'default' ? '' : `.${id}`}.baseUrl: "${baseUrl}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`${CONFIG_PATH}${id === 'default' ? '' : `.${id}`}.baseUrl: want an http(s) URL, got "${baseUrl}"`);
  }
  const token = c.getString('token').trim();
  if (token === '') {
    throw new Error(
      `${CONFIG_PATH}${id === 'default' ? '' : `.${id}`}.token is empty: set it to meshbot's MESHBOT_BACKSTAGE_TOKEN`,
    );
  }
  const installation = c.getOptional('installation');
  const pageSize = c.getOptionalNumber('pageSize');
  if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 10000)) {
    throw new Error(`${CONFIG_PATH}${id === 'default' ? '' : `.${id}`}.pageSize: want a whole number from 1 to 10000, got ${pageSize}`);
  }
  return {
    id,
    baseUrl,
    token,
    org: c.getOptionalString('org'),
    installation: installation === undefined ? undefined : String(installation),
    pageSize,
    schedule: c.has('schedule')
      ? readSchedulerServiceTaskScheduleDefinitionFromConfig(c.getConfig('schedule'))
      : DEFAULT_SCHEDULE,
  };
}
