/**
 * Backstage catalog backend module that reads a data mesh from meshbot.
 *
 * @packageDocumentation
 */
export { catalogModuleMeshbot as default } from './module';
export { catalogModuleMeshbot } from './module';
export { MeshbotEntityProvider, parseEntities, ENTITIES_PATH } from './provider';
export type { MeshbotEntityProviderOptions, RefreshOutcome } from './provider';
export { readMeshbotProviderConfigs, DEFAULT_SCHEDULE, CONFIG_PATH } from './config';
export type { MeshbotProviderConfig } from './config';
