import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { readMeshbotProviderConfigs } from './config';
import { MeshbotEntityProvider } from './provider';

/**
 * The catalog module: one MeshbotEntityProvider per configured meshbot,
 * each refreshed on its own schedule.
 */
export const catalogModuleMeshbot = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'meshbot',
  register(env) {
    env.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
      },
      async init({ catalog, config, logger, scheduler }) {
        const configs = readMeshbotProviderConfigs(config);
        if (configs.length === 0) {
          logger.warn('catalog.providers.meshbot is not configured: no meshbot entities will be read');
          return;
        }
        const providers: MeshbotEntityProvider[] = [];
        for (const c of configs) {
          const provider = new MeshbotEntityProvider({
            id: c.id,
            baseUrl: c.baseUrl,
            token: c.token,
            org: c.org,
            installation: c.installation,
            logger: logger.child({ provider: `meshbot:${c.id}` }),
          });
          providers.push(provider);
          catalog.addEntityProvider(provider);
          await scheduler.scheduleTask({
            id: `meshbot-entity-provider:${c.id}:refresh`,
            ...c.schedule,
            fn: async (signal: AbortSignal) => {
              await provider.refresh(signal);
            },
          });
          logger.info(`meshbot:${c.id}: reading ${provider.url}`);
        }
        // The catalog keeps one such handler; every error is logged so that
        // taking the slot loses no other module's errors, and ours are named.
        catalog.setOnProcessingErrorHandler(({ unprocessedEntity, errors }) => {
          const ref = stringifyEntityRef(unprocessedEntity);
          const owner = providers.find(p => p.provides(ref));
          const message = errors.map(e => `${e.name}: ${e.message}`).join('; ');
          logger.warn(
            `catalog processing error for ${ref}${owner ? ` (from ${owner.getProviderName()})` : ''}: ${message}`,
            { entityRef: ref, provider: owner?.getProviderName() ?? null },
          );
        });
      },
    });
  },
});
