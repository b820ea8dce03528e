// Who built a result: the `Built-By` trailer of its commit (`user@host (linux-x64, datakit-ci 0.2.0, GitHub
// Actions)`), so that a result fetched from a teammate or a CI runner says where it came from.
import os = require('node:os');
import { VERSION } from './version';

let machineName: string | undefined;

/** Who builds here: `user@host (linux-x64, datakit-ci 0.2.0[, CI service])`. */
export function machine(): string {
  if (machineName === undefined) {
    let user = process.env.USER ?? process.env.USERNAME ?? '';
    try { user = os.userInfo().username; } catch { /* no passwd entry (a container): the environment's */ }
    const ci = ciProvider(process.env);
    machineName = `${user || 'unknown'}@${os.hostname()} (${process.platform}-${process.arch}, datakit-ci ${VERSION}${ci ? `, ${ci}` : ''})`;
  }
  return machineName;
}

/** The CI service a build runs on, when the environment says so (`CI` set, and the service's own variable). */
export function ciProvider(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.CI || env.CI === 'false' || env.CI === '0') { return undefined; }
  if (env.GITHUB_ACTIONS) { return 'GitHub Actions'; }
  if (env.GITLAB_CI) { return 'GitLab CI'; }
  if (env.BUILDKITE) { return 'Buildkite'; }
  if (env.CIRCLECI) { return 'CircleCI'; }
  if (env.JENKINS_URL) { return 'Jenkins'; }
  if (env.TF_BUILD) { return 'Azure Pipelines'; }
  return 'CI';
}
