// The settings as the Settings editor lists them (test/e2e/settings.test.mjs looks at them there): each with
// a title, a description in markdown, a place among the others, labels for an enum's values; and the three
// that were renamed, still read under their old names.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { readSettings } from '../../../src/extension/settings';
import { ID } from './helpers';

interface Setting {
  title?: string; description?: string; markdownDescription?: string; order?: number; enum?: unknown[];
  enumItemLabels?: string[]; enumDescriptions?: string[]; markdownEnumDescriptions?: string[];
  deprecationMessage?: string; markdownDeprecationMessage?: string;
}

const settings = (): [string, Setting][] =>
  Object.entries((vscode.extensions.getExtension(ID)!.packageJSON as { contributes: { configuration: { properties: Record<string, Setting> } } }).contributes.configuration.properties);

describe('the settings', function () {
  this.timeout(30_000);

  it('each has a readable title, a markdownDescription (no plain description, whose backticks would show), an order of its own, and for an enum enumItemLabels and markdownEnumDescriptions', () => {
    const orders = new Set<number>();
    for (const [key, s] of settings()) {
      // As the Settings editor derives it from the key (test/e2e/settings.test.mjs sees it there); an old name
      // says which setting it was.
      const words = /^[A-Z][a-z]*( [A-Z][a-z]*)*$/;
      assert.ok(s.title && (s.markdownDeprecationMessage ? words.test(s.title.replace(/ \(old name\)$/, '')) && s.title.endsWith(' (old name)') : words.test(s.title)), `${key}: a title in words, "${s.title}"`);
      assert.doesNotMatch(s.title, /\bMi B\b|Datakit Ci/, `${key}: "${s.title}" reads`);
      assert.ok(s.markdownDescription && s.markdownDescription.length > 20, `${key}: a markdownDescription`);
      assert.strictEqual(s.description, undefined, `${key}: no plain description`);
      assert.strictEqual(s.deprecationMessage, undefined, `${key}: a deprecation, if any, in markdown`);
      assert.ok(Number.isInteger(s.order) && !orders.has(s.order!), `${key}: an order of its own, ${s.order}`);
      orders.add(s.order!);
      if (s.enum) {
        assert.strictEqual(s.enumItemLabels?.length, s.enum.length, `${key}: a label for each value`);
        assert.strictEqual(s.markdownEnumDescriptions?.length, s.enum.length, `${key}: a markdown description for each value`);
        assert.strictEqual(s.enumDescriptions, undefined, `${key}: no plain enumDescriptions`);
      }
    }
    // The renamed settings' old names, hidden unless set, come after every other.
    const last = Math.max(...settings().filter(([, s]) => !s.markdownDeprecationMessage).map(([, s]) => s.order!));
    for (const [key, s] of settings().filter(([, x]) => x.markdownDeprecationMessage)) {
      assert.ok(s.order! > last, `${key} after the others`);
      assert.match(s.markdownDeprecationMessage!, /^Renamed `#datakitCi\.\w+#`/);
    }
  });

  it('reads a renamed setting under its old name where the new one is not set, and the new one where it is', async () => {
    const c = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('datakitCi');
    const folder = vscode.workspace.workspaceFolders![0].uri;
    const set = async (values: Record<string, number | undefined>): Promise<void> => {
      for (const [k, v] of Object.entries(values)) { await c().update(k, v, vscode.ConfigurationTarget.Global); }
    };
    const read = (): number[] => { const s = readSettings(folder); return [s.maxBranchCommits, s.maxResultsSizeMiB, s.logCapBytes / 1048576]; };
    assert.deepStrictEqual(read(), [50, 1024, 16], 'the defaults');
    try {
      await set({ maxRangeCommits: 7, maxResultsSizeMiB: 9, logCapMiB: 3 });
      assert.deepStrictEqual(read(), [7, 9, 3], 'the old names');
      await set({ maxBranchCommits: 8, maxResultsSize: 10, maxLogSize: 4 });
      assert.deepStrictEqual(read(), [8, 10, 4], 'the new names first');
    } finally {
      await set({ maxRangeCommits: undefined, maxResultsSizeMiB: undefined, logCapMiB: undefined, maxBranchCommits: undefined, maxResultsSize: undefined, maxLogSize: undefined });
    }
    assert.deepStrictEqual(read(), [50, 1024, 16]);
  });
});
