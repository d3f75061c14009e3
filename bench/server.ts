/**
 * The ceilings, each in its own process on 127.0.0.1 (Wardline itself runs as src/main.ts):
 *   hello  bare Fastify answering a small JSON object: the most any route can do on this machine
 *   pk     bare Fastify + the same database, one primary-key SELECT of a patient per request: the
 *          most a read that goes to the database can do
 * Usage: tsx bench/server.ts hello|pk PORT. pk uses DATABASE_URL (pool of DATABASE_POOL_SIZE, 10 by
 * default, as Wardline) or the PGlite folder DATA_DIR/pglite. Prints READY once it listens.
 */
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import Fastify from 'fastify';
import pg from 'pg';

const [kind, port] = [process.argv[2], Number(process.argv[3])];
const app = Fastify({ logger: false });

const PK_READ =
  'select id, organization_id, mrn, given_name, family_name, birth_date, sex, phone, email, address, ' +
  'emergency_contact, allergies, primary_hospital_id, status, created_at, updated_at from patients where id = $1';

let close = async () => {};
if (kind === 'hello') {
  app.get('/hello', async () => ({ hello: 'world' }));
} else if (kind === 'pk') {
  let query: (id: string) => Promise<unknown[]>;
  if (process.env.DATABASE_URL) {
    const pool = new pg.Pool({
      connectionString: process.env.DATABASE_URL,
      max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
    });
    query = async (id) => (await pool.query<Record<string, unknown>>(PK_READ, [id])).rows;
    close = () => pool.end();
  } else {
    const client = await PGlite.create({ dataDir: `${process.env.DATA_DIR}/pglite`, extensions: { btree_gist } });
    query = async (id) => (await client.query(PK_READ, [id])).rows;
    close = () => client.close();
  }
  app.get<{ Params: { id: string } }>('/patients/:id', async (request, reply) => {
    const [row] = await query(request.params.id);
    return row ?? reply.code(404).send({ error: 'not found' });
  });
} else {
  throw new Error('kind must be hello or pk');
}

await app.listen({ port, host: '127.0.0.1' });
process.stdout.write('READY\n');
process.on('SIGTERM', () => {
  void app
    .close()
    .then(close)
    .finally(() => process.exit(0));
});
