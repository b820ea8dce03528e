// The engine's public API (dist/engine.js): plain Node, no VS Code.
export { VERSION } from './version';
