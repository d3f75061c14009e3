import { describe, expect, it } from 'vitest';
import { isLoopbackHost, LoadtestUsageError, parseLoadtestArgs } from './loadtest-args.js';

const TOKEN = 'abcdefghijklmnopqrstuvwxyz012345';
const parse = (...argv: string[]) => parseLoadtestArgs(argv, () => `${TOKEN}\n`);
const problems = (...argv: string[]) => {
  try {
    parse(...argv);
  } catch (error) {
    expect(error).toBeInstanceOf(LoadtestUsageError);
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
};

describe('npm run loadtest arguments', () => {
  it('takes a scenario, bounds and a loopback target, with defaults', () => {
    expect(parse('--scenario', 'health')).toEqual({
      scenario: 'health',
      connections: 50,
      durationSeconds: 10,
      url: 'http://127.0.0.1:5000',
      token: null,
      json: false,
    });
    expect(
      parse(
        '--scenario',
        'mixed',
        '--connections',
        '1000',
        '--duration',
        '60',
        '--url',
        'http://localhost:8080',
        '--token',
        TOKEN,
      ),
    ).toMatchObject({
      scenario: 'mixed',
      connections: 1000,
      durationSeconds: 60,
      url: 'http://localhost:8080',
      token: TOKEN,
    });
    expect(parse('--scenario', 'read', '--token-file', '/some/file').token).toBe(TOKEN);
  });

  it('caps connections and duration', () => {
    expect(problems('--scenario', 'health', '--connections', '1001')).toMatch(
      /--connections: a whole number from 1 to 1000/,
    );
    expect(problems('--scenario', 'health', '--connections', '0')).toMatch(/--connections/);
    expect(problems('--scenario', 'health', '--duration', '61')).toMatch(/--duration: a whole number from 1 to 60/);
    expect(problems('--scenario', 'health', '--duration', '1.5')).toMatch(/--duration/);
  });

  it('refuses another machine unless --allow-remote', () => {
    expect(problems('--scenario', 'health', '--url', 'http://10.0.0.5:5000')).toMatch(/needs --allow-remote/);
    expect(problems('--scenario', 'health', '--url', 'https://wardline.example.org')).toMatch(/needs --allow-remote/);
    expect(parse('--scenario', 'health', '--url', 'http://10.0.0.5:5000', '--allow-remote').url).toBe(
      'http://10.0.0.5:5000',
    );
    expect(problems('--scenario', 'health', '--url', 'ftp://127.0.0.1')).toMatch(/http:\/\/ or https:\/\//);
    expect(problems('--scenario', 'health', '--url', 'http://127.0.0.1:5000/api')).toMatch(/base URL only/);
    expect(problems('--scenario', 'health', '--url', 'not a url')).toMatch(/not a valid URL/);
  });

  it('needs a scenario it knows, and a token for authenticated scenarios', () => {
    expect(problems()).toMatch(/--scenario: one of health, read, cold-read, search, create, mixed/);
    expect(problems('--scenario', 'flood')).toMatch(/--scenario/);
    expect(problems('--scenario', 'read')).toMatch(/the read scenario needs a bearer token/);
    expect(problems('--scenario', 'read', '--token', 'short')).toMatch(/--token: a bearer token/);
    expect(problems('--scenario', 'read', '--token', TOKEN, '--token-file', 'x')).toMatch(/one or the other/);
    expect(problems('--scenario', 'health', '--unknown')).toMatch(/Unknown option/);
  });

  it('lists every problem at once', () => {
    const message = problems('--scenario', 'x', '--connections', '5000', '--url', 'http://192.168.1.2');
    expect(message.split('\n')).toHaveLength(3);
  });

  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['10.0.0.1', '0.0.0.0', 'example.com', '128.0.0.1']) expect(isLoopbackHost(host)).toBe(false);
  });
});
