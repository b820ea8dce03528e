// The log views of the extension: live logs in output channels, saved logs as coloured, foldable documents.
import * as vscode from 'vscode';
import { LogChannels, type LogChannelsOptions } from './channels';
import { LogDecorator } from './decorations';
import { LogFoldingProvider } from './folding';
import { LOG_LANGUAGE, LOG_SCHEME, LogDocumentProvider, type LogResolver } from './logDocuments';

export { CHANNEL_PREFIX, LogChannels, type ChannelAppend, type LogChannelsOptions } from './channels';
export { LogDecorator, type LogDecorationsApplied } from './decorations';
export { LogFoldingProvider, headingRegions } from './folding';
export { LogLinks, type LogOrigin } from './links';
export { logTitle, type BuiltFrom } from './logTitle';
export { ERROR_LINE, LOG_LANGUAGE, LOG_SCHEME, LogDocumentProvider, type LogResolver, type SavedLogReader } from './logDocuments';

export type LogViewsOptions = LogChannelsOptions;

export interface LogViews {
  channels: LogChannels;
  documents: LogDocumentProvider;
  decorator: LogDecorator;
}

/** Registers the content provider, folding and colours; everything is disposed with `context`. */
export function registerLogViews(
  context: { readonly subscriptions: { dispose(): unknown }[] },
  resolve: LogResolver,
  options: LogViewsOptions = {},
): LogViews {
  const channels = new LogChannels(options);
  const documents = new LogDocumentProvider(resolve);
  const decorator = new LogDecorator(documents);
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(LOG_SCHEME, documents),
    // By scheme too, so that a document whose language was not set still folds.
    vscode.languages.registerFoldingRangeProvider([{ language: LOG_LANGUAGE }, { scheme: LOG_SCHEME }], new LogFoldingProvider()),
    decorator,
    channels,
  );
  return { channels, documents, decorator };
}
