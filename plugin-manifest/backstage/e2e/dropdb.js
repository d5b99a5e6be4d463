// Drops the PostgreSQL databases a test backend created: every database
// whose name starts with the prefix given (Backstage names them
// <prefix><pluginId>). Connection settings come from the PG* environment.
const { Client } = require('pg');

async function main() {
  const prefix = process.argv[2];
  if (!prefix || !/^[a-z0-9_]{8,}$/.test(prefix)) {
    throw new Error(`usage: dropdb.js PREFIX (lower-case letters, digits and _; at least 8 characters), got ${JSON.stringify(prefix)}`);
  }
  const client = new Client({ database: 'postgres' });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      console.log(`dropped ${datname}`);
    }
  } finally {
    await client.end();
  }
}

main().catch(err => {
  console.error(err.message);
  process.exit(1);
});
