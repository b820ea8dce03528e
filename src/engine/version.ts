/** The version of the engine and of its on-disk formats; part of every job key. */
export const VERSION = '0.2.0';
