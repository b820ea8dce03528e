// The commands: every user action is registered here and runs as an operation (see operations.ts), which
// checks workspace trust for those that run something and turns errors into messages in one place.
import * as vscode from 'vscode';
import { buildCommands, sharingCommands } from './build';
import { configCommands } from './config';
import { inspectCommands } from './inspect';
import type { CommandDeps } from './pick';

export { STARTER_CONFIG } from './config';
export { nothingToBuild, type CommandDeps } from './pick';

export function registerCommands(context: vscode.ExtensionContext, deps: CommandDeps): void {
  for (const spec of [...buildCommands(deps), ...sharingCommands(deps), ...inspectCommands(deps), ...configCommands(deps)]) {
    context.subscriptions.push(vscode.commands.registerCommand(spec.id, (...args: unknown[]) =>
      deps.ops.run(spec.name, { runs: spec.runs, ...(spec.progress ? { progress: true } : {}) }, () => spec.run(...args))));
  }
}
