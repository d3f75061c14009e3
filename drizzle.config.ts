import { defineConfig } from 'drizzle-kit';

// Each module owns its tables in its own <name>.schema.ts; drizzle-kit reads every one of them.
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/platform/**/*.schema.ts', './src/modules/**/*.schema.ts'],
  out: './migrations',
  casing: 'snake_case',
});
