// A real Backstage backend with the catalog and this package's module, as an
// adopter's packages/backend/src/index.ts would have it. internal/e2e starts
// it with --config pointing at an app-config it writes.
const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();
backend.add(require('@backstage/plugin-catalog-backend'));
backend.add(require('..'));
backend.start().catch(err => {
  console.error('backend failed to start:', err);
  process.exit(1);
});
