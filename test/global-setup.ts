import type { TestProject } from 'vitest/node';
import { createPostgresTemplate, ensurePgliteTemplate } from './helpers/template.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** PGlite: path of the gzipped dump of a migrated database that each test app loads. */
    pgliteTemplate: string | null;
    /** PostgreSQL: the migrated template database each test file's scratch database is copied from. */
    postgresTemplate: string | null;
  }
}

/** Runs once per `vitest run`, before any test file: makes the migrated template database. */
export default async function setup(project: TestProject) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    project.provide('pgliteTemplate', await ensurePgliteTemplate());
    project.provide('postgresTemplate', null);
    return;
  }
  const template = await createPostgresTemplate(url);
  project.provide('pgliteTemplate', null);
  project.provide('postgresTemplate', template.name);
  return () => template.drop();
}
