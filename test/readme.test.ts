import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTable } from '../src/cli/config-table.js';
import { rolesTable } from '../src/cli/roles-table.js';

describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it('documents every configuration variable exactly as the schema defines it', () => {
    const block = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme);
    expect(block, 'README needs the config-table markers').not.toBeNull();
    expect(block![1]!.trim()).toBe(configTable());
  });

  it('shows the permission table exactly as src/platform/permissions.ts defines it', () => {
    const block = /<!-- roles-table:start -->\n([\s\S]*?)\n<!-- roles-table:end -->/.exec(readme);
    expect(block, 'README needs the roles-table markers').not.toBeNull();
    expect(block![1]!.trim()).toBe(rolesTable());
  });

  it('shows the two commands', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });
});
