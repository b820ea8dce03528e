// The JSON schema of .datakit-ci.json (the one VS Code uses for completion and hover), compiled by ajv on
// first use only: a command whose configuration needs no validation does not pay for loading it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { DataKitError } from '../shared/errors';

export const SCHEMA_FILE = 'schemas/datakit-ci.schema.json';

let ajv: import('ajv').default | undefined;

/** Errors of `value` against the schema (`pointer` '') or a part of it (e.g. `#/definitions/job`). */
export function schemaErrors(pointer: string, value: unknown): ErrorObject[] {
  if (!ajv) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed
    const Ajv = (require('ajv') as typeof import('ajv')).default;
    ajv = new Ajv({ allErrors: true, strict: true });
    // VS Code's own keywords for hover, completion and messages.
    ajv.addVocabulary(['markdownDescription', 'defaultSnippets', 'patternErrorMessage']);
    ajv.addSchema(loadConfigSchema(), 'config');
  }
  const validate = ajv.getSchema(`config${pointer}`) as ValidateFunction;
  return validate(value) ? [] : [...(validate.errors ?? [])];
}

/** The schema, found next to the code whether it runs from `out/src/jobs` (tests) or from a `dist` bundle. */
export function loadConfigSchema(): object {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, SCHEMA_FILE);
    if (fs.existsSync(file)) {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as object;
    }
    if (path.dirname(dir) === dir) {
      throw new DataKitError('SchemaNotFound', `${SCHEMA_FILE} was not found above ${__dirname}`);
    }
  }
}
