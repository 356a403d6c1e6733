import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/platform/config/project-root';
import { eventually, killGroups, startCapturing, waitForExit } from './support/processes';

// scripts/build.mjs, which every npm script that runs from dist/ calls first, run in a scratch
// project whose `nest` and `tsc` are stand-ins: each logs when it starts and ends, and the nest one
// empties dist/ first and writes dist/src/main.js last, as nest build does. The script, its lock
// and its fingerprint are the real ones.
describe('scripts/build.mjs', () => {
  const projects: string[] = [];
  const groups: number[] = [];

  afterAll(async () => {
    killGroups(groups);
    await Promise.all(projects.map((project) => rm(project, { recursive: true, force: true })));
  });

  async function scratchProject(): Promise<string> {
    const project = await mkdtemp(join(tmpdir(), 'ledger-build-script-'));
    projects.push(project);
    await mkdir(join(project, 'scripts'));
    await copyFile(join(projectRoot(), 'scripts', 'build.mjs'), join(project, 'scripts', 'build.mjs'));
    await mkdir(join(project, 'node_modules', '.bin'), { recursive: true });
    await symlink(join(projectRoot(), 'node_modules', 'proper-lockfile'), join(project, 'node_modules', 'proper-lockfile'));
    await writeFile(
      join(project, 'node_modules', '.bin', 'nest'),
      [
        '#!/bin/sh',
        'echo "nest start $$" >> build.log',
        'rm -rf dist',
        'sleep "${FAKE_BUILD_SECONDS:-1}"',
        'mkdir -p dist/src && echo built > dist/src/main.js',
        'echo "nest end $$" >> build.log',
        'exit "${FAKE_BUILD_EXIT:-0}"',
        '',
      ].join('\n'),
    );
    await writeFile(join(project, 'node_modules', '.bin', 'tsc'), '#!/bin/sh\necho "tsc $*" >> build.log\n');
    await chmod(join(project, 'node_modules', '.bin', 'nest'), 0o755);
    await chmod(join(project, 'node_modules', '.bin', 'tsc'), 0o755);
    for (const file of ['package-lock.json', 'nest-cli.json', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.dashboard.json']) {
      await writeFile(join(project, file), '{}\n');
    }
    await mkdir(join(project, 'src', 'cli'), { recursive: true });
    await mkdir(join(project, 'projections'));
    await writeFile(join(project, 'src', 'main.ts'), 'export const version = 1;\n');
    await writeFile(join(project, 'src', 'cli', 'cli.main.ts'), 'export {};\n');
    await writeFile(join(project, 'projections', 'users.projection.ts'), 'export {};\n');
    return project;
  }

  function startBuild(project: string, args: readonly string[] = [], env: Record<string, string> = {}) {
    const started = startCapturing(process.execPath, [join(project, 'scripts', 'build.mjs'), ...args], {
      cwd: project,
      env: { ...process.env, ...env },
      detached: true,
    });
    if (started.child.pid !== undefined) groups.push(started.child.pid);
    return started;
  }

  async function build(project: string, args: readonly string[] = [], env: Record<string, string> = {}) {
    const { child, output } = startBuild(project, args, env);
    const { code } = await waitForExit(child, 60_000);
    return { code, output: output() };
  }

  async function buildLog(project: string): Promise<string[]> {
    if (!existsSync(join(project, 'build.log'))) return [];
    return (await readFile(join(project, 'build.log'), 'utf8')).trim().split('\n').map((line) => line.replace(/ \d+$/, ''));
  }

  it('runs one build for two scripts started together, and both find dist/src/main.js', async () => {
    const project = await scratchProject();
    // A build long enough that the second script asks for the lock while the first holds it, on a
    // machine as loaded as CI's.
    const first = startBuild(project, [], { FAKE_BUILD_SECONDS: '4' });
    const second = startBuild(project, [], { FAKE_BUILD_SECONDS: '4' });
    const exits = await Promise.all(
      [first, second].map(async ({ child }) => {
        const { code } = await waitForExit(child, 60_000);
        return { code, mainJs: existsSync(join(project, 'dist', 'src', 'main.js')) };
      }),
    );

    expect(exits).toEqual([
      { code: 0, mainJs: true },
      { code: 0, mainJs: true },
    ]);
    expect(await buildLog(project)).toEqual(['nest start', 'nest end', 'tsc -p tsconfig.dashboard.json']);
    const outputs = [first.output(), second.output()];
    expect(outputs.filter((output) => output.includes('Another build of dist/ is under way'))).toHaveLength(1);
    expect(outputs.filter((output) => output.includes('dist/ is up to date'))).toHaveLength(1);
  });

  it('skips a build when no input changed, and builds when one did or when forced', async () => {
    const project = await scratchProject();
    expect((await build(project)).code).toBe(0);

    // What it says goes to stderr: `npm run -s cli -- … --json | jq` reads the CLI's stdout.
    const unchanged = spawnSync(process.execPath, [join(project, 'scripts', 'build.mjs')], { cwd: project, encoding: 'utf8' });
    expect(unchanged.status).toBe(0);
    expect(unchanged.stdout).toBe('');
    expect(unchanged.stderr).toContain('dist/ is up to date');
    expect(await buildLog(project)).toHaveLength(3);

    await writeFile(join(project, 'src', 'cli', 'cli.main.ts'), 'export const changed = true;\n');
    expect((await build(project)).code).toBe(0);
    expect(await buildLog(project)).toHaveLength(6);

    await writeFile(join(project, 'tsconfig.build.json'), '{"changed": true}\n');
    expect((await build(project)).code).toBe(0);
    expect(await buildLog(project)).toHaveLength(9);

    expect((await build(project)).code).toBe(0);
    expect(await buildLog(project)).toHaveLength(9);
    expect((await build(project, ['--force'])).code).toBe(0);
    expect(await buildLog(project)).toHaveLength(12);
  });

  it('exits with a failed step’s code and builds again next time', async () => {
    const project = await scratchProject();
    const failed = await build(project, [], { FAKE_BUILD_EXIT: '3' });
    expect(failed.code).toBe(3);
    expect(await buildLog(project)).toEqual(['nest start', 'nest end']);

    expect((await build(project)).code).toBe(0);
    expect(await buildLog(project)).toEqual(['nest start', 'nest end', 'nest start', 'nest end', 'tsc -p tsconfig.dashboard.json']);
  });

  it('takes over the lock of a build that was killed part-way, and builds in full', async () => {
    const project = await scratchProject();
    const killed = startBuild(project, [], { FAKE_BUILD_SECONDS: '120' });
    await eventually('the first build to be under way', async () => ((await buildLog(project)).includes('nest start') ? true : undefined));
    process.kill(-(killed.child.pid as number), 'SIGKILL');
    await waitForExit(killed.child);

    const next = await build(project);
    expect(next.code).toBe(0);
    expect(next.output).toContain('Another build of dist/ is under way');
    expect(await buildLog(project)).toEqual(['nest start', 'nest start', 'nest end', 'tsc -p tsconfig.dashboard.json']);
    expect(existsSync(join(project, 'dist', 'src', 'main.js'))).toBe(true);
  }, 90_000);

  it('refuses an unknown argument without building', async () => {
    const project = await scratchProject();
    const refused = await build(project, ['--watch']);
    expect(refused.code).toBe(2);
    expect(refused.output).toContain('unknown argument --watch');
    expect(await buildLog(project)).toEqual([]);
  });
});
