#!/usr/bin/env node
// Builds dist/: the compiled service that npm start, npm run cli, migrate, the projector and the
// payout worker run, and that the tests spawn.
//
// Each of those scripts builds first (its npm pre-script), and `nest build` empties dist/ before
// it writes it. Two scripts started together, or `npm run cli` started while `npm start` was
// running, could therefore leave one of them without dist/src/main.js. So builds here take a lock
// and run one at a time, and a build is skipped when dist/ was built from exactly the inputs there
// now: the last step of a build writes a fingerprint of every input (the sources, the tsconfigs,
// nest-cli.json, package-lock.json and this script). A script started during another's build
// waits for it, then finds dist/ up to date; a running service keeps its dist/ unless its sources
// changed.
// `npm run build` passes --force and always builds, under the same lock. What this script says
// goes to stderr: the CLI's stdout, which follows it, may be piped into another program.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const inputDirs = ['src', 'projections'];
const inputFiles = [
  'package-lock.json',
  'nest-cli.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'tsconfig.dashboard.json',
  'scripts/build.mjs',
];
const steps = [
  ['nest', ['build']],
  ['tsc', ['-p', 'tsconfig.dashboard.json']],
];
const fingerprintPath = join(root, 'dist', '.build-fingerprint');
// A build takes under a minute on 2 cores; a script waiting for another's build gives it ten.
const lockWaitMs = 600_000;
const lockRetryMs = 250;
// The holder touches the lock every 5 s while it builds. A lock left untouched for 10 s belongs to
// a build that was killed, and the next build takes it over.
const lockStaleMs = 10_000;

async function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--force');
  if (unknown.length > 0) {
    console.error(`build: unknown argument ${unknown[0]}; the only option is --force`);
    return 2;
  }
  const release = await acquireLock();
  try {
    const fingerprint = await fingerprintOfInputs();
    if (!args.includes('--force') && (await builtFingerprint()) === fingerprint) {
      console.error('dist/ is up to date with the sources; not rebuilt (npm run build forces a build)');
      return 0;
    }
    // Removed first, so that a build which fails or is killed part-way is never taken as complete.
    await rm(fingerprintPath, { force: true });
    for (const [command, commandArgs] of steps) {
      const code = await run(command, commandArgs);
      if (code !== 0) return code;
    }
    await writeFile(fingerprintPath, `${fingerprint}\n`);
    return 0;
  } finally {
    await release();
  }
}

async function acquireLock() {
  const options = {
    lockfilePath: join(root, '.build.lock'),
    realpath: false,
    stale: lockStaleMs,
    onCompromised: (error) => {
      console.error(`build: the build lock was lost (${error.message}); run the command again`);
      process.exit(1);
    },
  };
  try {
    return await lockfile.lock(root, options);
  } catch (error) {
    if (error.code !== 'ELOCKED') throw error;
  }
  console.error('Another build of dist/ is under way; waiting for it to finish');
  const retries = { retries: Math.ceil(lockWaitMs / lockRetryMs), factor: 1, minTimeout: lockRetryMs, maxTimeout: lockRetryMs };
  try {
    return await lockfile.lock(root, { ...options, retries });
  } catch (error) {
    if (error.code !== 'ELOCKED') throw error;
    throw new Error(`another build of dist/ held ${join(root, '.build.lock')} for more than ${lockWaitMs / 60_000} minutes`);
  }
}

/** sha256 over the path and content of every input, in a fixed order. */
async function fingerprintOfInputs() {
  const paths = [...inputFiles];
  for (const dir of inputDirs) paths.push(...(await filesUnder(dir)));
  paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256');
  for (const path of paths) {
    hash.update(`${path}\0`);
    hash.update(await readFile(join(root, path)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

async function filesUnder(dir) {
  const files = [];
  for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

async function builtFingerprint() {
  try {
    return (await readFile(fingerprintPath, 'utf8')).trim();
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    throw error;
  }
}

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(join(root, 'node_modules', '.bin', command), args, { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`build: ${error.message}`);
    process.exitCode = 1;
  },
);
