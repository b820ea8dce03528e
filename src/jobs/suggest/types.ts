// What zero configuration suggests: jobs, a setup, what it skipped, and the file's text.
import type { Skipped } from './suggestWorkspaces';

export interface SuggestedJob {
  readonly name: string;
  /** Always the package manager's or make's command naming the script or target, never the script's text. */
  readonly run: string;
  /** Absent: the whole tree. */
  readonly inputs?: string[];
  /** What a build writes that the jobs needing it get (a workspace package's built files). */
  readonly outputs?: string[];
  /** The jobs that must pass first (the builds of the workspace packages it depends on). */
  readonly needs?: string[];
  /** `false`: the job does without the top-level setup (no suggestion sets it today; the text honours it). */
  readonly setup?: false;
  /** Commands whose output is part of its key (the toolchain's version: an upgrade builds again). */
  readonly toolInputs?: string[];
  /** The built-in matcher of what its script runs (`$eslint-stylish`, `$tsc`, or both); absent: the default one. */
  readonly problemMatcher?: string | string[];
  /** Where it was found, e.g. `package.json script "test"`. */
  readonly from: string;
}

export interface SuggestedSetup {
  readonly run: string;
  readonly inputs: string[];
  /** Commands whose output is part of its key (the runtime's version: an upgrade installs again). */
  readonly toolInputs: string[];
  /** What an upgrade that installs again is, for its comment; absent: a Node upgrade. */
  readonly upgrade?: string;
  /** What it was chosen by, e.g. `package-lock.json`. */
  readonly from: string;
}

export interface Suggestions {
  readonly jobs: SuggestedJob[];
  readonly setup?: SuggestedSetup;
  readonly skipped: Skipped[];
  /** A commented .datakit-ci.json of the above (parseConfig takes it). */
  readonly text: string;
}
