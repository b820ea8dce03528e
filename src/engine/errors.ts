/** Errors with a stable `code`, matched by code and never by message. */
export class DataKitError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'DataKitError';
  }
  static is(e: unknown, code?: string): e is DataKitError {
    return e instanceof Error && typeof (e as DataKitError).code === 'string' && (code === undefined || (e as DataKitError).code === code);
  }
}
