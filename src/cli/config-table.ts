/**
 * Prints the README's configuration table from the config schema, so the two cannot drift:
 * `npm run docs:config`. test/readme.test.ts fails when the README's copy differs.
 */
import { z } from 'zod';
import { envSchema } from '../config.js';

interface PropertySchema {
  description?: string;
  default?: unknown;
}

export function configTable(): string {
  const json = z.toJSONSchema(envSchema, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, PropertySchema>;
  };
  const rows = Object.entries(json.properties).map(([name, property]) => {
    const fallback =
      property.default === undefined || property.default === ''
        ? ''
        : `\`${JSON.stringify(property.default).replace(/^"|"$/g, '')}\``;
    return `| \`${name}\` | ${fallback} | ${property.description ?? ''} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(configTable());
