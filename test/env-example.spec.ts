import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/platform/config/project-root';

/** Every `.ts` file under `directory`, tests excluded. */
function sources(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') ? [path] : [];
  });
}

/**
 * `.env.example` documents the configuration (issue: "a documented .env.example"): every variable
 * the code reads from the environment is in it, and it names none the code does not read.
 */
describe('.env.example', () => {
  const example = readFileSync(join(projectRoot(), '.env.example'), 'utf8');
  const documented = new Set([...example.matchAll(/^# ([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]));
  // Every reader takes the environment first and the variable's name second.
  const read = new Set(
    sources(join(projectRoot(), 'src')).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/\(env, '([A-Z][A-Z0-9_]+)'/g)].map((match) => match[1])),
  );

  it('lists every variable the service reads', () => {
    expect(read.size).toBeGreaterThan(40);
    expect([...read].filter((name) => !documented.has(name)).sort()).toEqual([]);
  });

  it('lists no variable the service does not read', () => {
    expect([...documented].filter((name) => !read.has(name)).sort()).toEqual([]);
  });
});
