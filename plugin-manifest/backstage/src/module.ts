import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { readMeshbotProviderConfigs } from './config';
import { CatalogErrorsEventPayload, MeshbotEntityProvider } from './provider';

/**
 * The topic the catalog publishes processing errors on (the catalog
 * backend's CATALOG_ERRORS_TOPIC, not exported for modules).
 */
export const CATALOG_ERRORS_TOPIC = 'experimental.catalog.errors';

/**
 * The catalog module: one MeshbotEntityProvider per configured meshbot,
 * each refreshed by its own scheduled task runner once the catalog connects
 * it.
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
        events: eventsServiceRef,
      },
      async init({ catalog, config, logger, scheduler, events }) {
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
            pageSize: c.pageSize,
            logger: logger.child({ provider: `meshbot:${c.id}` }),
            taskRunner: scheduler.createScheduledTaskRunner(c.schedule),
          });
          providers.push(provider);
          catalog.addEntityProvider(provider);
          logger.info(`meshbot:${c.id}: reading ${provider.url}`);
        }
        // The catalog keeps one processing-error handler
        // (setOnProcessingErrorHandler), which its owner sets; its errors
        // are also published as events, which any number of modules may
        // read. Each provider logs those about its own entities.
        await events.subscribe({
          id: 'catalog-module-meshbot-processing-errors',
          topics: [CATALOG_ERRORS_TOPIC],
          async onEvent(params) {
            const payload = params.eventPayload as CatalogErrorsEventPayload;
            for (const p of providers) {
              if (p.processingError(payload)) {
                return;
              }
            }
          },
        });
      },
    });
  },
});
