import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { Config } from './types.js';
import { validateConfig } from './validate.js';

/**
 * Read, parse and validate the YAML configuration file. The path comes from `--config`, else
 * from the `GATEHOUSE_CONFIG` environment variable.
 *
 * @throws GatehouseError `ERR_CONFIG_INVALID` naming the file or key at fault.
 * @example
 *   const config = await loadConfig('/etc/gatehouse/config.yaml');
 */
export async function loadConfig(
  path: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Config> {
  const file = path ?? env['GATEHOUSE_CONFIG'];
  if (file === undefined || file === '') {
    throw new GatehouseError('ERR_CONFIG_INVALID', {
      message: 'config: no configuration file given (use --config FILE or GATEHOUSE_CONFIG)',
    });
  }
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new GatehouseError('ERR_CONFIG_INVALID', {
      message: `config: cannot read ${abs}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      cause: err,
    });
  }
  return parseConfig(text, dirname(abs), abs);
}

/**
 * Parse YAML text and validate it; relative paths resolve against `baseDir`.
 *
 * @throws GatehouseError `ERR_CONFIG_INVALID`.
 */
export function parseConfig(text: string, baseDir: string, name = 'config'): Config {
  let doc: unknown;
  try {
    // uniqueKeys: a key given twice is a mistake, not a silent override.
    doc = parse(text, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    throw new GatehouseError('ERR_CONFIG_INVALID', {
      message: `config: ${name} is not valid YAML: ${(err as Error).message}`,
      cause: err,
    });
  }
  return validateConfig(doc, baseDir);
}
