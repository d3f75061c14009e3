// Writes packages/client/src/generated/openapi.ts from the OpenAPI document the server serves.
// Run by `npm run client:generate`; test/client.test.ts fails while the committed file is stale.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { CLIENT_TYPES_FILE, renderClientTypes, serverOpenApiDocument } from './client-types.js';

const source = await renderClientTypes(await serverOpenApiDocument());
const current = await readFile(CLIENT_TYPES_FILE, 'utf8').catch(() => null);
const name = relative(process.cwd(), CLIENT_TYPES_FILE);
if (current === source) {
  console.log(`${name} is up to date.`);
} else {
  await mkdir(dirname(CLIENT_TYPES_FILE), { recursive: true });
  await writeFile(CLIENT_TYPES_FILE, source);
  console.log(`Wrote ${name}.`);
}
