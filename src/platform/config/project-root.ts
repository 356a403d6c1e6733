import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The folder holding package.json, found by walking up from this file, so that the same code
 * finds `migrations/` and `.data/` whether it runs from `src/` (tests) or `dist/src/` (npm start).
 */
export function projectRoot(): string {
  let dir = __dirname;
  for (let depth = 0; depth < 10; depth += 1) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'migrations'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`Cannot find the project root above ${__dirname}`);
}
