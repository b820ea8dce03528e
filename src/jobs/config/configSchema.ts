// The JSON schema of .datakit-ci.json (the one VS Code uses for completion and hover), compiled ahead of
// time by ajv's standalone code generation (scripts/generate-validator.mjs): validating needs no ajv and
// no compilation at run time.
import fs = require('node:fs');
import path = require('node:path');
import type { ErrorObject } from 'ajv';
import { DataKitError } from '../../shared/errors';
import { validateConfig, validateJob } from './configValidator.generated';

export const SCHEMA_FILE = 'schemas/datakit-ci.schema.json';

type Validate = ((value: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** Errors of `value` against the whole schema (`''`) or against one job's definition (`#/definitions/job`). */
export function schemaErrors(pointer: '' | '#/definitions/job', value: unknown): ErrorObject[] {
  const validate = (pointer === '' ? validateConfig : validateJob) as Validate;
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
