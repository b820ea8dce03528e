// The default matcher's readings of Python: a traceback (its problem is at the last frame inside the repository,
// where the exception was raised, with the exception's line for message), and pytest's report of a failure
// (`____ test_name ____`, the `E   ` lines of what went wrong, then `path:line: ExceptionName`).
import { MAX_MESSAGE_LINES, type Reading, type Recogniser } from './reading';

/** `  File "/abs/src/lib/config.py", line 4, in parse_port` */
const FRAME = /^\s+File "(.+)", line (\d+)(?:, in .*)?$/;
/** The exception's line that ends a traceback: `ValueError: port out of range: 70000`, `KeyboardInterrupt`. */
const EXCEPTION = /^[A-Za-z_][\w.]*(?::|$)/;
/** pytest's line under a failure's last frame: `src/calc/ops.py:6: ZeroDivisionError`. */
const PYTEST_AT = /^(\S+):(\d+): ([A-Za-z_][\w.]*)$/;
/** pytest's heading of one failure: `______ test_add ______`. */
const PYTEST_HEADING = /^_{3,} \S.* _{3,}$/;

export class PythonReading implements Recogniser {
  /** A traceback being read, and the last frame of it inside the repository so far. */
  private traceback: { file?: string; line?: number } | undefined;
  /** pytest's `E` lines since the last heading or location. */
  private said: string[] = [];

  constructor(private readonly r: Reading) {}

  line(text: string, indent: number): boolean {
    if (this.traceback) { return this.inTraceback(text, indent); }
    if (indent !== 0) { return false; }
    const c = text.charCodeAt(0);
    if (c === 84 /* T */ && text === 'Traceback (most recent call last):') {
      this.traceback = {};
      return true;
    }
    if (c === 69 /* E */ && text.charCodeAt(1) === 32) {
      if (this.said.length < MAX_MESSAGE_LINES) { this.said.push(text.slice(1).trim()); }
      return true;
    }
    if (c === 95 /* _ */ && PYTEST_HEADING.test(text)) {
      this.said = [];
      return true;
    }
    return this.pytestLocation(text);
  }

  /** `path:line: Name` after `E` lines: the problem, said by those lines. Any `path:line:` line ends them. */
  private pytestLocation(text: string): boolean {
    if (this.said.length === 0) { return false; }
    const m = PYTEST_AT.exec(text);
    const said = this.said;
    if (m || /^\S+:\d+:/.test(text)) { this.said = []; }
    const file = m ? this.r.file(m[1]) : undefined;
    if (!m || file === undefined) { return false; }
    const name = m[3];
    const message = said[0].startsWith(name) ? said.join('\n') : `${name}: ${said.join('\n')}`;
    this.r.emit({ file, line: Number(m[2]), message });
    return true;
  }

  private inTraceback(text: string, indent: number): boolean {
    const tb = this.traceback!;
    if (indent > 0 && indent < text.length) {
      const m = FRAME.exec(text);
      const file = m ? this.r.file(m[1]) : undefined;
      if (m && file !== undefined) {
        tb.file = file;
        tb.line = Number(m[2]);
      }
      return true; // a frame, its code, or the carets under it
    }
    this.traceback = undefined;
    if (indent === text.length || !EXCEPTION.test(text)) { return false; }
    if (tb.file !== undefined) { this.r.emit({ file: tb.file, line: tb.line!, message: text.trim() }); }
    return true;
  }

  close(): void {
    this.traceback = undefined;
    this.said = [];
  }
}
