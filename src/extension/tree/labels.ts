// The words of the Builds view's rows and tooltips made of a result's own text — its failure message, who built
// it, its commit's subject: a fetched result's were chosen by whoever made it, so each goes through `plain`
// (control characters, escape sequences and bidirectional overrides neutralised) before it is shown. Pure (no
// vscode), so that the unit tests check what a row would say.
import { plain } from '../../shared/format';

/** Text for a markdown table cell: one line, control characters neutralised, no pipe, no markup. */
export function escapeCell(text: string): string {
  return plain(text).replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);
}

/** The first line of a result's text (a failure message), neutralised: what a row, a notification or a reader says. */
export function firstLine(text: string): string {
  return plain(text.split('\n')[0]!);
}

/**
 * A failure in a row, short enough that its run time and age are seen in a narrow side bar: `failed (exit 1)`,
 * else the message's start; the whole message is in the tooltip and read to a screen reader.
 */
export function short(message: string): string {
  const line = firstLine(message);
  const exit = /^Command exited with code (\d+)$/.exec(line);
  if (exit) { return `failed (exit ${exit[1]})`; }
  return line.length <= 32 ? line : `${line.slice(0, 31).trimEnd()}…`;
}
