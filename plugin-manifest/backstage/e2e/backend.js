// A real Backstage backend with the catalog and this package's module, added
// exactly as the README tells adopters to (the package imports itself by
// name). internal/e2e starts it with --config pointing at an app-config it
// writes.
const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@meshbot/backstage-plugin-catalog-backend-module-meshbot'));
backend.start().catch(err => {
  console.error('backend failed to start:', err);
  process.exit(1);
});
