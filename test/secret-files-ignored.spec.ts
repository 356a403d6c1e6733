import { spawnSync } from 'node:child_process';
import { projectRoot } from '../src/platform/config/project-root';

/**
 * The files the README and docker-compose.yml lead an operator to make beside the code hold
 * secrets: `new.key` and `old.key` (a master key rotation), `.env` (docker compose reads the
 * LEDGER_MASTER_KEY it asks for from there). A `git add -A` must not commit them.
 */
describe('files that hold secrets', () => {
  const secretFiles = ['new.key', 'old.key', 'keys/master.key', '.env', '.env.production', '.data/master.key'];

  /** The paths among `paths` that git would not ignore in this repository (checked by git itself). */
  function notIgnoredByGit(paths: readonly string[]): string[] {
    const answer = spawnSync('git', ['check-ignore', '--no-index', '--stdin'], { cwd: projectRoot(), input: paths.join('\n'), encoding: 'utf8' });
    if (answer.error !== undefined || (answer.status !== 0 && answer.status !== 1)) throw new Error(`git check-ignore failed: ${answer.stderr}`);
    const ignored = new Set(answer.stdout.split('\n').filter((line) => line !== ''));
    return paths.filter((path) => !ignored.has(path));
  }

  it('are ignored by git', () => {
    expect(notIgnoredByGit(secretFiles)).toEqual([]);
    // .env.example is documentation, and stays in the repository.
    expect(notIgnoredByGit(['.env.example'])).toEqual(['.env.example']);
  });
});
