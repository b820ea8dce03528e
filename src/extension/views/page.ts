// The frame of every page the extension shows in a webview: a Content-Security-Policy that lets in only the
// page's own style and script (by a nonce made for each page), and nothing loaded from anywhere.

/** A whole page: its style, then `body` (its own script, if any, carries the same nonce). */
export function webviewPage(nonce: string, style: string, body: string): string {
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<style nonce="${nonce}">${style}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
