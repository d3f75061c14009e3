import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../config.js';

interface Holder {
  pid: number;
  what: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes DATA_DIR for this process. Embedded PGlite is one process's database: a second process
 * opening the same folder (a server and `npm run seed`, or two servers) would corrupt it. A lock left
 * by a process that no longer runs is taken over. Released on exit.
 */
export function lockDataDir(dataDir: string, what: string): () => void {
  try {
    return takeLock(dataDir, what);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError([`DATA_DIR: cannot keep the embedded database in ${dataDir} (${code})`]);
  }
}

function takeLock(dataDir: string, what: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, '.lock');
  const mine: Holder = { pid: process.pid, what, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(mine), { flag: 'wx', mode: 0o600 });
      const release = () => {
        try {
          const holder = JSON.parse(readFileSync(file, 'utf8')) as Holder;
          if (holder.pid === process.pid) unlinkSync(file);
        } catch {
          // already gone
        }
      };
      process.once('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder: Holder | undefined;
      try {
        holder = JSON.parse(readFileSync(file, 'utf8')) as Holder;
      } catch {
        holder = undefined;
      }
      if (holder && holder.pid !== process.pid && alive(holder.pid)) {
        throw new ConfigError([
          `DATA_DIR: ${dataDir} is in use by a running Wardline ${holder.what} (pid ${holder.pid}, since ${holder.since}); stop it first`,
        ]);
      }
      unlinkSync(file);
    }
  }
  throw new ConfigError([`DATA_DIR: could not lock ${dataDir}`]);
}
