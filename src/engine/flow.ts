// Backpressure from a live log's readers to its writer: a reader that cannot keep up (the command line's
// --verbose writing to a pipe that a pager drains slowly) holds the flow until it has caught up, and the
// writer (a job's output pipe) pauses meanwhile, so that nothing piles up in memory.
import type { Disposable } from '../shared/events';

export class Flow {
  private holds = 0;
  private waiters: (() => void)[] = [];

  /** Whether any reader holds the flow. */
  get held(): boolean { return this.holds > 0; }

  /** Holds the flow until the handle is disposed (idempotent). */
  hold(): Disposable {
    this.holds++;
    let released = false;
    return {
      dispose: () => {
        if (released) { return; }
        released = true;
        if (--this.holds === 0) { this.release(); }
      },
    };
  }

  /** Resolves once no reader holds the flow (at once if none does). */
  whenFlowing(): Promise<void> {
    return this.holds === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }

  /** Lets everything flow again, whoever holds it (a finished log has no writer left to pause). */
  release(): void {
    this.holds = 0;
    for (const w of this.waiters.splice(0)) { w(); }
  }
}
