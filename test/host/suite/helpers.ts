import * as assert from 'assert';
import * as vscode from 'vscode';
import type { DataKitCiApi } from '../../../src/extension/extension';
import type { Node } from '../../../src/extension/tree/treeModel';

export const ID = 'datakit-ci.datakit-ci';

export async function api(): Promise<DataKitCiApi> {
  const ext = vscode.extensions.getExtension<DataKitCiApi>(ID);
  assert.ok(ext, `extension ${ID} is not loaded`);
  return ext.activate();
}

/** Waits until `fn` returns a truthy value (polled); fails with `what` after `ms`. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

export async function waitFor<T>(what: string, fn: () => T | Promise<T>, ms = 30_000): Promise<Truthy<T>> {
  const end = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (last) { return last as Truthy<T>; }
    if (Date.now() > end) { throw new Error(`timed out waiting for ${what}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function children(a: DataKitCiApi, node?: Node): Promise<Node[]> {
  return (await a.internals.tree.getChildren(node)) ?? [];
}

/** The job nodes of the HEAD target (single-repository tree). */
export async function headTarget(a: DataKitCiApi): Promise<Extract<Node, { kind: 'target' }>> {
  const head = (await children(a)).find((n): n is Extract<Node, { kind: 'target' }> => n.kind === 'target' && n.target.target.isHead);
  assert.ok(head, 'a row is the HEAD target');
  return head;
}

export async function headJobs(a: DataKitCiApi): Promise<Extract<Node, { kind: 'job' }>[]> {
  // The HEAD target: the first row, or the second below the working tree's when it has changes.
  const head = (await children(a)).find((n) => n.kind === 'target' && n.target.target.isHead);
  assert.ok(head && head.kind === 'target', 'a row is the HEAD target');
  return (await children(a, head)).filter((n): n is Extract<Node, { kind: 'job' }> => n.kind === 'job');
}

export async function jobNode(a: DataKitCiApi, name: string): Promise<Extract<Node, { kind: 'job' }>> {
  const node = (await headJobs(a)).find((n) => n.job.key.job.name === name);
  assert.ok(node, `job ${name} is in the tree`);
  return node;
}

/** A row as the view shows it, its tooltip made as when it is pointed at (resolveTreeItem). */
export async function item(a: DataKitCiApi, node: Node): Promise<vscode.TreeItem> {
  return a.internals.tree.resolveTreeItem(await a.internals.tree.getTreeItem(node));
}

/** git as every test runs it (see test/fixtures). */
export { git } from '../../fixtures';

export function iconOf(i: vscode.TreeItem): { id: string; color?: string } {
  const icon = i.iconPath as vscode.ThemeIcon;
  return { id: icon.id, color: icon.color?.id };
}
