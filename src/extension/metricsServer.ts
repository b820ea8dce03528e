// Serves the Prometheus metrics at http://127.0.0.1:<port>/metrics — loopback only.
import * as http from 'http';
import * as vscode from 'vscode';
import type { CacheMetrics } from '../engine/metrics';

export class MetricsServer implements vscode.Disposable {
  private server: http.Server | undefined;
  port = 0;
  /** Why the last `listen` serves nothing (e.g. the port is in use), until the next one. */
  problem: string | undefined;

  constructor(private readonly metrics: CacheMetrics, private readonly output: vscode.LogOutputChannel) {}

  /** (Re)starts on `port`, or stops when it is 0. A port in use is a warning, not a crash. */
  async listen(port: number): Promise<void> {
    await this.close();
    this.problem = undefined;
    if (!port) { return; }
    const server = http.createServer((req, res) => {
      if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
        this.metrics.text().then((text) => {
          res.writeHead(200, { 'Content-Type': this.metrics.contentType });
          res.end(text);
        }, (e) => { res.writeHead(500); res.end(String(e)); });
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('Not found: try /metrics\n');
      }
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
      });
      this.server = server;
      this.port = (server.address() as { port: number }).port;
      this.output.info(`Metrics at http://127.0.0.1:${this.port}/metrics`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? `port ${port} is already in use` : (e as Error).message;
      this.problem = why;
      this.output.warn(`Metrics server not started: ${why}`);
      void vscode.window.showWarningMessage(`DataKit CI could not serve metrics on 127.0.0.1:${port}: ${why}. Change "datakitCi.metricsPort".`);
    }
  }

  close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.port = 0;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }

  dispose(): void {
    void this.close();
  }
}
