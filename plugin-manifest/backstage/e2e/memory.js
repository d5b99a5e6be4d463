// Measures the module's memory while it reads a meshbot: one full read, then
// (after asking the server to change its registry) one more read, which the
// paged module applies as a delta. internal/e2e's
// BenchmarkBackstageModuleMemory runs it against the real provider endpoint
// serving a generated registry.
//
//   node --expose-gc e2e/memory.js URL TOKEN [MUTATE_URL]
//
// MESHBOT_MODULE_DIST names another build of the module to measure (an
// older one, for comparison). Prints one JSON line per read: the entities
// applied, the peak of V8's heap plus external memory sampled every
// millisecond above the baseline, and the process's peak RSS so far.
const path = require('node:path');

const [url, token, mutateUrl] = process.argv.slice(2);
if (!url || !token || typeof global.gc !== 'function') {
  console.error('usage: node --expose-gc e2e/memory.js URL TOKEN [MUTATE_URL]');
  process.exit(2);
}
const dist = process.env.MESHBOT_MODULE_DIST || path.join(__dirname, '..', 'dist');
const { MeshbotEntityProvider } = require(path.join(dist, 'provider.js'));

const quiet = { error: m => console.error(m), warn() {}, info() {}, debug() {}, child() { return quiet; } };
const mb = 1024 * 1024;

function used() {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

async function measure(provider) {
  global.gc();
  const base = used();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, used());
  }, 1);
  const out = await provider.refresh();
  peak = Math.max(peak, used());
  clearInterval(timer);
  if (out.status !== 'applied') {
    throw new Error(`read ${out.status}: ${out.error ? out.error.message : ''}`);
  }
  global.gc();
  return {
    mutation: out.mutation || 'full',
    entities: out.entities,
    added: out.added,
    removed: out.removed,
    peakHeapMB: +((peak - base) / mb).toFixed(1),
    retainedMB: +((used() - base) / mb).toFixed(1),
    maxRssMB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
  };
}

async function main() {
  const applied = [];
  const provider = new MeshbotEntityProvider({ id: 'memory', baseUrl: url, token, logger: quiet });
  // The catalog's connection: it takes the mutation and lets it go, so
  // what is measured is the module's own holding.
  await provider.connect({
    async applyMutation(m) {
      applied.push(m.type === 'full' ? m.entities.length : m.added.length + m.removed.length);
    },
    async refresh() {},
  });
  console.log(JSON.stringify({ read: 1, ...(await measure(provider)) }));
  if (mutateUrl) {
    const res = await fetch(mutateUrl, { method: 'POST' });
    if (!res.ok) {
      throw new Error(`mutate: HTTP ${res.status}`);
    }
    console.log(JSON.stringify({ read: 2, ...(await measure(provider)) }));
  }
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
