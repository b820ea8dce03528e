// Live logs shown in output channels: one channel per cache entry, fed in batches, at most N kept.
import * as vscode from 'vscode';
import { Emitter, type Event, type Disposable } from '../../shared/events';
import type { LiveLog } from '../../engine/liveLog';
import { AnsiStripper } from '../../shared/ansi';
import { LOG_LANGUAGE } from './logDocuments';

export const CHANNEL_PREFIX = 'DataKit CI: ';
// Each `append` is a message to the renderer and a write of the channel's file: batch them.
const FLUSH_DELAY_MS = 100;
const FLUSH_BYTES = 64 * 1024;
// What `textOf` keeps of each channel: VS Code cannot read a channel back, but this copy must stay small.
const RECORDED_CHARS = 1024 * 1024;

export interface LogChannelsOptions {
  /** How many channels are kept; showing one more disposes the least recently shown (default 10). */
  maxChannels?: number;
}

/** What one batch appended to a channel; for tests, which cannot read a channel back. */
export interface ChannelAppend {
  readonly name: string;
  readonly text: string;
}

/** A channel following one live log until it finishes. */
class FollowedChannel {
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private stripper = new AnsiStripper();
  private following: Disposable[] = [];
  private recorded: string[] = [];
  private recordedLength = 0;
  // Only to recognise the log again: a finished log's text (up to its cap) must not live on here.
  private followed: WeakRef<LiveLog> | undefined;

  constructor(readonly name: string, readonly channel: vscode.OutputChannel, private readonly appended: (text: string) => void) {}

  follows(log: LiveLog): boolean {
    return this.followed?.deref() === log;
  }

  follow(log: LiveLog): void {
    this.stop();
    if (this.followed !== undefined) {
      // The previous build's unsent output is dropped with the rest of it.
      this.cancelTimer();
      this.pending = [];
      this.pendingBytes = 0;
      this.channel.clear();
      this.recorded = [];
      this.recordedLength = 0;
    }
    this.followed = new WeakRef(log);
    this.stripper = new AnsiStripper();
    // `subscribe` delivers what was written so far before returning, then every later write.
    const sub = log.subscribe(0, (chunk) => this.add(chunk));
    if (log.finished) {
      sub.dispose();
      this.finish();
      return;
    }
    this.following = [sub, log.onDidFinish(() => this.finish())];
  }

  private add(chunk: string): void {
    const text = this.stripper.push(chunk);
    if (text === '') { return; }
    this.pending.push(text);
    this.pendingBytes += Buffer.byteLength(text, 'utf8');
    if (this.pendingBytes > FLUSH_BYTES) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => this.flush(), FLUSH_DELAY_MS);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) { clearTimeout(this.timer); this.timer = undefined; }
  }

  flush(): void {
    this.cancelTimer();
    if (this.pending.length === 0) { return; }
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.channel.append(text);
    if (this.recordedLength < RECORDED_CHARS) {
      const kept = text.slice(0, RECORDED_CHARS - this.recordedLength);
      this.recorded.push(kept);
      this.recordedLength += kept.length;
    }
    this.appended(text);
  }

  /** The first MiB of what was appended since the channel last followed a new log. */
  text(): string {
    if (this.recorded.length > 1) { this.recorded = [this.recorded.join('')]; }
    return this.recorded[0] ?? '';
  }

  private finish(): void {
    this.stripper.end();
    this.flush();
    this.stop();
  }

  private stop(): void {
    for (const d of this.following) { d.dispose(); }
    this.following = [];
  }

  dispose(): void {
    this.stop();
    this.cancelTimer();
    this.pending = [];
    this.channel.dispose();
  }
}

export class LogChannels implements vscode.Disposable {
  private readonly maxChannels: number;
  // Keyed by entry id, in order of last `show` (oldest first).
  private readonly channels = new Map<string, FollowedChannel>();
  private _appendCalls = 0;
  private readonly _onDidAppend = new Emitter<ChannelAppend>();
  /** Fired after each batch is appended to a channel. */
  readonly onDidAppend: Event<ChannelAppend> = this._onDidAppend.event;

  constructor(options: LogChannelsOptions = {}) {
    this.maxChannels = Math.max(1, Math.floor(options.maxChannels ?? 10));
  }

  /** `append` calls made on all channels so far. */
  get appendCalls(): number { return this._appendCalls; }

  /** The names of the open channels, least recently shown first. */
  get channelNames(): string[] {
    return [...this.channels.values()].map((c) => c.name);
  }

  /** What the channel `DataKit CI: <name>` was given so far (its first MiB), or undefined if there is none. */
  textOf(name: string): string | undefined {
    const fullName = CHANNEL_PREFIX + name;
    for (const followed of this.channels.values()) {
      if (followed.name === fullName) { return followed.text(); }
    }
    return undefined;
  }

  /**
   * Shows the channel `DataKit CI: <name>` following `log`. A channel already following this log is only
   * revealed; one left by an earlier build of the same entry is cleared and follows the new log.
   */
  show(log: LiveLog, name: string, preserveFocus = true): vscode.OutputChannel {
    const fullName = CHANNEL_PREFIX + name;
    let followed = this.channels.get(log.entry);
    if (followed !== undefined && followed.name !== fullName) {
      // A channel's name is fixed at creation.
      followed.dispose();
      this.channels.delete(log.entry);
      followed = undefined;
    }
    if (followed === undefined) {
      // In the log language: the log's links (LogLinks) apply to it too.
      const channel = vscode.window.createOutputChannel(fullName, LOG_LANGUAGE);
      followed = new FollowedChannel(fullName, channel, (text) => {
        this._appendCalls++;
        this._onDidAppend.fire({ name: fullName, text });
      });
    }
    this.channels.delete(log.entry);
    this.channels.set(log.entry, followed);
    if (!followed.follows(log)) { followed.follow(log); }
    this.evict();
    followed.channel.show(preserveFocus);
    return followed.channel;
  }

  private evict(): void {
    for (const [entry, followed] of this.channels) {
      if (this.channels.size <= this.maxChannels) { break; }
      followed.dispose();
      this.channels.delete(entry);
    }
  }

  dispose(): void {
    for (const followed of this.channels.values()) { followed.dispose(); }
    this.channels.clear();
    this._onDidAppend.dispose();
  }
}
