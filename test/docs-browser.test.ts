import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

// The API docs as a browser sees them over plain HTTP at a host name: browsers exempt only
// localhost and 127.0.0.1 from `upgrade-insecure-requests`, so a CSP with it leaves the page blank
// anywhere else. Debian's chromium (`apt-get install -y chromium`; .ci/run installs it).

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const title = available
  ? 'API docs in headless Chromium'
  : `API docs in headless Chromium: SKIPPED, ${CHROMIUM} not found (apt-get install -y chromium)`;

describe.skipIf(!available)(title, () => {
  let t: TestApp;
  let browser: Browser;
  let port: string;

  beforeAll(async () => {
    t = await buildTestApp();
    port = new URL(await t.app.listen({ port: 0, host: '127.0.0.1' })).port;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--host-resolver-rules=MAP wardline.test 127.0.0.1',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('renders the operations at http://wardline.test, with no CSP or mixed-content errors', async () => {
    const page = await browser.newPage();
    const messages: string[] = [];
    page.on('console', (message) => messages.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => messages.push(`pageerror: ${error.message}`));
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));

    const response = await page.goto(`http://wardline.test:${port}/api/docs`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).not.toContain('upgrade-insecure-requests');
    // Swagger UI draws one block per operation once it has loaded its script and the document.
    await page.locator('.opblock').first().waitFor({ state: 'visible', timeout: 20_000 });
    // Known defect (README, API docs): with the whole document (about 140 operations) Swagger UI draws the
    // first tag's operations and stops, with no error; any subset of up to about 120 renders in full. What
    // this test guards, the page rendering over plain HTTP under its CSP, holds either way.
    expect(await page.locator('.opblock').count()).toBeGreaterThan(5);
    expect(await page.getByText('/api/auth/sign-in/email', { exact: true }).first().isVisible()).toBe(true);

    expect(messages.filter((m) => /content security policy|mixed content|insecure/i.test(m))).toEqual([]);
    // Every asset came from the server itself, over plain HTTP.
    const own = requested.filter((url) => new URL(url).hostname === 'wardline.test');
    expect(own.length).toBeGreaterThan(2);
    expect(own.filter((url) => !url.startsWith(`http://wardline.test:${port}/`))).toEqual([]);
    await page.close();
  });
});
