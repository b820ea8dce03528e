// What a job's key takes from the machine rather than the commit: the values of the environment variables it
// declares (`envInputs`) and the output of the commands it declares (`toolInputs`, such as `node --version`), so
// that a cached success does not survive a compiler or runtime upgrade. (Turborepo keys on declared variables,
// Nx on "runtime inputs", a command's output.) A command comes only from the commit's configuration, and runs
// only where jobs may run: keys are computed with git, which an untrusted workspace never starts. The probe
// that reads them runs processes: it lives with the running of jobs (run/runtimeProbe.ts).

/**
 * The values that went into a key: each variable's value as `sha256:<hex>` of it (null: unset; never the value
 * itself, which may be a secret and is pushed with the result), each command's output.
 */
export interface RuntimeValues {
  readonly env: Readonly<Record<string, string | null>>;
  readonly tools: Readonly<Record<string, string>>;
}

/** What declares runtime inputs: a job or the setup. */
export interface RuntimeDeclaration {
  /** For messages: `job "build"` or `the setup`. */
  readonly who: string;
  readonly env: Readonly<Record<string, string>>;
  readonly envInputs?: readonly string[];
  readonly toolInputs?: readonly string[];
}

/** Reads what a declaration names: undefined when it declares nothing (its key is then as before). */
export interface RuntimeProbe {
  valuesOf(d: RuntimeDeclaration): Promise<RuntimeValues | undefined>;
}
