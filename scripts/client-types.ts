import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from 'openapi-typescript';
import prettier from 'prettier';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/platform/db/database.js';

/** The committed types of @wardline/client. */
export const CLIENT_TYPES_FILE = fileURLToPath(new URL('../packages/client/src/generated/openapi.ts', import.meta.url));

/** The OpenAPI document the server serves, from the app built on an in-memory database. */
export async function serverOpenApiDocument(): Promise<OpenAPI3> {
  const config = loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: 'memory://' });
  const database = await openDatabase({ dataDir: 'memory://' });
  try {
    await database.migrate();
    const app = await buildApp(config, { database, redis: null, authSecret: randomBytes(32).toString('hex') });
    try {
      await app.ready();
      return app.swagger() as OpenAPI3;
    } finally {
      await app.close();
    }
  } finally {
    await database.close();
  }
}

/** The TypeScript source of the client's types for a document, formatted as the repository formats it. */
export async function renderClientTypes(document: OpenAPI3): Promise<string> {
  // openapi-typescript may annotate the document it is given; keep the caller's copy as it was.
  const ast = await openapiTS(structuredClone(document), { silent: true });
  const header = `${COMMENT_HEADER.trimEnd()}\n// Regenerate with \`npm run client:generate\` (scripts/generate-client.ts).\n\n`;
  const source = header + astToString(ast);
  const options = await prettier.resolveConfig(CLIENT_TYPES_FILE);
  return prettier.format(source, { ...options, filepath: CLIENT_TYPES_FILE });
}
