import { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  catalog?: {
    providers?: {
      /**
       * meshbot entity providers. Either one provider (an object with
       * baseUrl) or a map from a provider id to such an object, for several
       * meshbot deployments.
       */
      meshbot?:
        | MeshbotProviderConfig
        | {
            [id: string]: MeshbotProviderConfig;
          };
    };
  };
}

interface MeshbotProviderConfig {
  /**
   * meshbot's base URL, e.g. https://meshbot.example.com; the module reads
   * `${baseUrl}/backstage/entities`.
   */
  baseUrl: string;
  /**
   * The bearer token meshbot was started with: MESHBOT_BACKSTAGE_TOKEN, or
   * an organisation's token from MESHBOT_BACKSTAGE_ORG_TOKENS (which reads
   * that organisation only).
   * @visibility secret
   */
  token: string;
  /**
   * Only the mesh of this GitHub organisation (meshbot's ?org=).
   */
  org?: string;
  /**
   * Only the mesh of this GitHub App installation id (meshbot's ?installation=).
   */
  installation?: string | number;
  /**
   * Entities per page of meshbot's answer (meshbot's ?limit=), 1 to 10000.
   * Default 1000: about 2.5 MB of JSON a page.
   */
  pageSize?: number;
  /**
   * How often to read meshbot. Default: every 10 minutes, 2 minutes timeout.
   */
  schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
}
