// `npm start`: compile what changed since the last build, then run the server in this same process.
//
// npm runs the script with `sh -c` and forwards SIGTERM and SIGINT to that shell. Debian's dash does
// not hand over to a script's last command, so with `npm run build && node dist/main.js` the shell
// took the signal, died, and left the server running, re-parented. Now the script is
// `exec node scripts/start.mjs`: the shell becomes this process, which builds and then is the
// server, so npm's child is the server itself and the signal reaches it.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// `tsc -b` compares timestamps against dist/.tsbuildinfo: about 0.3 s when nothing changed.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const build = spawn(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });

// Asked to stop while compiling: stop the compiler, and exit as a server that was stopped would.
let stopped = false;
/** @param {NodeJS.Signals} signal */
const stop = (signal) => {
  stopped = true;
  build.kill(signal);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
/** @type {number | null} */
const code = await new Promise((resolve) => build.once('exit', resolve));
process.off('SIGTERM', stop);
process.off('SIGINT', stop);

if (stopped) process.exit(0);
if (code !== 0) {
  process.stderr.write('Wardline cannot start: the TypeScript build failed (see above).\n');
  process.exit(code ?? 1);
}
await import('../dist/main.js');
