// Sections of a log: each `=== Title` line (LiveLog.heading) opens a region that runs to the next one.
import * as vscode from 'vscode';

export const HEADING_PREFIX = '=== ';

/** `[startLine, endLine]` of each section; trailing blank lines stay visible between folded sections. */
export function headingRegions(lineCount: number, lineAt: (line: number) => string): [number, number][] {
  const headings: number[] = [];
  for (let i = 0; i < lineCount; i++) {
    if (lineAt(i).startsWith(HEADING_PREFIX)) { headings.push(i); }
  }
  const regions: [number, number][] = [];
  headings.forEach((start, k) => {
    let end = (k + 1 < headings.length ? headings[k + 1] : lineCount) - 1;
    while (end > start && lineAt(end).trim() === '') { end--; }
    if (end > start) { regions.push([start, end]); }
  });
  return regions;
}

export class LogFoldingProvider implements vscode.FoldingRangeProvider {
  provideFoldingRanges(document: vscode.TextDocument): vscode.FoldingRange[] {
    return headingRegions(document.lineCount, (i) => document.lineAt(i).text)
      .map(([start, end]) => new vscode.FoldingRange(start, end, vscode.FoldingRangeKind.Region));
  }
}
