// Validates Backstage entities with @backstage/catalog-model's own code: the
// entity policies the catalog applies to everything it ingests, and the
// kind validators of the built-in kinds. It also checks what the catalog
// would only report later: unique names per kind and namespace (compared
// case-insensitively, as the catalog does) and relation targets that exist
// in the same set.
//
// Usage: node validate.mjs [FILE]   (stdin without FILE)
// Input: meshbot's GET /backstage/entities body ({"entities": [...]}) or a
// plain JSON array of entities. Exit 0 when all pass, 1 on any failure,
// 2 when the input cannot be read.
import { readFileSync } from 'node:fs';
import {
  EntityPolicies,
  DefaultNamespaceEntityPolicy,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  parseEntityRef,
  stringifyEntityRef,
  ANNOTATION_LOCATION,
  ANNOTATION_ORIGIN_LOCATION,
} from '@backstage/catalog-model';

const validators = [
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
];

// The catalog's default policy set (catalog-backend's CatalogBuilder).
const policy = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);

// Relation fields of the built-in kinds and the kind a bare ref defaults to.
const relationFields = {
  api: { owner: 'group', system: 'system' },
  component: { owner: 'group', system: 'system', providesApis: 'api', consumesApis: 'api', dependsOn: 'component', subcomponentOf: 'component' },
  system: { owner: 'group', domain: 'domain' },
  domain: { owner: 'group', subdomainOf: 'domain' },
  group: { parent: 'group', children: 'group' },
};

function readInput() {
  const file = process.argv[2];
  const text = file && file !== '-' ? readFileSync(file, 'utf8') : readFileSync(0, 'utf8');
  const doc = JSON.parse(text);
  const entities = Array.isArray(doc) ? doc : doc?.entities;
  if (!Array.isArray(entities)) {
    throw new Error('want a JSON array of entities or an object with an "entities" array');
  }
  return entities;
}

function label(e, i) {
  try {
    return stringifyEntityRef(e);
  } catch {
    return `entity #${i}`;
  }
}

async function main() {
  let entities;
  try {
    entities = readInput();
  } catch (err) {
    console.error(`validate: cannot read entities: ${err.message}`);
    process.exit(2);
  }
  const failures = [];
  const fail = (what, msg) => failures.push(`${what}: ${msg}`);
  const seen = new Map();

  for (const [i, raw] of entities.entries()) {
    // Policies may fill defaults in place; validate a copy of what was sent.
    const e = structuredClone(raw);
    const what = label(raw, i);
    try {
      const out = await policy.enforce(e);
      if (!out) fail(what, 'rejected by the entity policies');
    } catch (err) {
      fail(what, `policy: ${err.message}`);
      continue;
    }
    let matched = false;
    for (const v of validators) {
      try {
        if (await v.check(e)) matched = true;
      } catch (err) {
        fail(what, `${e.kind} validator: ${err.message}`);
        matched = true;
      }
    }
    if (!matched) fail(what, `kind ${e.kind} (${e.apiVersion}) is not one of the built-in kinds validated here`);
    for (const a of [ANNOTATION_LOCATION, ANNOTATION_ORIGIN_LOCATION]) {
      if (typeof e.metadata?.annotations?.[a] !== 'string' || !e.metadata.annotations[a].includes(':')) {
        fail(what, `annotation ${a} is required on provider entities (type:target)`);
      }
    }
    const key = `${e.kind}:${e.metadata.namespace ?? 'default'}/${e.metadata.name}`.toLocaleLowerCase('en-US');
    if (seen.has(key)) fail(what, `duplicate of entity #${seen.get(key)} (names are unique per kind and namespace, case-insensitively)`);
    else seen.set(key, i);
  }

  for (const [i, e] of entities.entries()) {
    const fields = relationFields[String(e?.kind).toLowerCase()];
    if (!fields || !e.spec) continue;
    const what = label(e, i);
    const ns = e.metadata?.namespace ?? 'default';
    for (const [field, defaultKind] of Object.entries(fields)) {
      const v = e.spec[field];
      for (const target of v === undefined ? [] : Array.isArray(v) ? v : [v]) {
        let ref;
        try {
          ref = parseEntityRef(target, { defaultKind, defaultNamespace: ns });
        } catch (err) {
          fail(what, `spec.${field} ${JSON.stringify(target)}: ${err.message}`);
          continue;
        }
        const key = `${ref.kind}:${ref.namespace}/${ref.name}`.toLocaleLowerCase('en-US');
        if (!seen.has(key)) fail(what, `spec.${field} ${target} does not resolve to an entity of this set`);
      }
    }
  }

  for (const f of failures) console.error(f);
  if (failures.length > 0) {
    console.error(`validate: ${failures.length} problem(s) in ${entities.length} entities`);
    process.exit(1);
  }
  console.log(`validate: ${entities.length} entities pass @backstage/catalog-model's policies and kind validators`);
}

await main();
