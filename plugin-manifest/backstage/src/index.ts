/**
 * Backstage catalog backend module that reads a data mesh from meshbot.
 *
 * @packageDocumentation
 */
export { catalogModuleMeshbot as default } from './module';
export { catalogModuleMeshbot, CATALOG_ERRORS_TOPIC } from './module';
export { MeshbotEntityProvider, parseEntities, ENTITIES_PATH, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './provider';
export type { MeshbotEntityProviderOptions, RefreshOutcome, CatalogErrorsEventPayload } from './provider';
export { readMeshbotProviderConfigs, DEFAULT_SCHEDULE, CONFIG_PATH } from './config';
export type { MeshbotProviderConfig } from './config';
