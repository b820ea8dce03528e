// The history chart's script, run in its webview (historyChartPage.ts writes the page it lays out): it fits
// the chart to the editor, and again whenever the editor's size changes (the run-time axis on the left; the
// bars in equal slots; each bar's commit below it, turned upright when the slots are too narrow for it and
// then one in so many; under them the day and time of a build wherever one fits and says something new), and makes the bars a keyboard's:
// Tab reaches the newest, Left and Right (Home, End) move between them, Enter or Space opens the log.
// Only geometry and classes are set here; every text shown was escaped into the page by the extension.
export const CHART_SCRIPT = `
(() => {
  const vscode = acquireVsCodeApi();
  const info = document.getElementById('info');
  const plot = document.getElementById('plot');
  const svg = document.getElementById('chart');
  if (!svg) { return; }
  const bars = Array.from(svg.querySelectorAll('.build'));
  const ticks = Array.from(svg.querySelectorAll('.tick'));
  const dates = Array.from(svg.querySelectorAll('.date'));
  const top = Number(svg.dataset.top) || 1;
  const LINE = 14;
  const TOP = 28;
  const RIGHT = 10;
  const set = (el, attrs) => { for (const k of Object.keys(attrs)) { el.setAttribute(k, String(attrs[k])); } };
  const widest = (els) => els.reduce((w, e) => { e.classList.remove('hidden'); return Math.max(w, e.getComputedTextLength()); }, 0);

  function layoutY(g) {
    for (const t of ticks) {
      const y = g.base - g.height * Number(t.dataset.ms) / top;
      set(t.querySelector('line'), { x1: g.left, x2: g.W - RIGHT, y1: y, y2: y });
      set(t.querySelector('text'), { x: g.left - 6, y: y + 4 });
    }
    set(svg.querySelector('.y-title'), { x: 0, y: 11 });
    set(svg.querySelector('.baseline'), { x1: g.left, x2: g.W - RIGHT, y1: g.base, y2: g.base });
    set(svg.querySelector('.x-title'), { x: g.left, y: g.H - 3 });
  }

  function layoutBars(g) {
    const width = Math.max(3, Math.min(40, g.slot * 0.6));
    const every = g.upright ? Math.max(1, Math.ceil((LINE + 2) / g.slot)) : 1;
    bars.forEach((b, i) => {
      const cx = g.left + g.slot * (i + 0.5);
      const h = Math.max(2, g.height * Number(b.dataset.ms) / top);
      set(b.querySelector('.shape'), { x: cx - width / 2, y: g.base - h, width, height: h });
      set(b.querySelector('.hit'), { x: cx - g.slot / 2 + 1, y: TOP - 20, width: Math.max(1, g.slot - 2), height: g.base + g.band - TOP + 20 });
      const mark = b.querySelector('.mark');
      if (mark) { set(mark, { x: cx, y: g.base - h - 3 }); }
      const label = b.querySelector('.commit');
      // The newest is always labelled; going back, one in so many.
      label.classList.toggle('hidden', (bars.length - 1 - i) % every !== 0);
      if (g.upright) {
        set(label, { x: cx, y: g.base + 6, transform: 'rotate(-90 ' + cx + ' ' + (g.base + 6) + ')', 'text-anchor': 'end', 'dominant-baseline': 'central' });
      } else {
        label.removeAttribute('transform');
        set(label, { x: cx, y: g.base + LINE + 1, 'text-anchor': 'middle', 'dominant-baseline': 'auto' });
      }
    });
  }

  // Left to right, a build's day and time where it fits under its bar and says something new: the day when
  // it changes, a time when it differs from the last one written.
  function layoutDates(g) {
    const y = g.base + g.band + LINE;
    let end = -Infinity;
    let day = '';
    let time = '';
    dates.forEach((d, i) => {
      const cx = g.left + g.slot * (i + 0.5);
      const text = d.querySelector('text');
      text.textContent = (d.dataset.day !== day ? d.dataset.day + ' ' : '') + d.dataset.time;
      d.classList.remove('hidden');
      const w = text.getComputedTextLength();
      const x = Math.min(Math.max(g.left, cx - w / 2), g.W - RIGHT - w);
      const fits = x >= end + 12 && x <= cx && x + w >= cx && (d.dataset.day !== day || d.dataset.time !== time);
      d.classList.toggle('hidden', !fits);
      if (!fits) { return; }
      set(text, { x, y });
      end = x + w;
      day = d.dataset.day;
      time = d.dataset.time;
    });
  }

  function layout() {
    const W = Math.max(200, Math.floor(plot.clientWidth));
    const H = Math.max(160, Math.floor(plot.clientHeight));
    set(svg, { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H });
    const left = Math.ceil(widest(ticks.map((t) => t.querySelector('text')))) + 10;
    const slot = (W - left - RIGHT) / bars.length;
    const labelWidth = widest(bars.map((b) => b.querySelector('.commit')));
    const upright = slot < labelWidth + 8;
    const band = upright ? labelWidth + 12 : LINE + 6;
    const base = H - band - (LINE + 6) - (LINE + 4);
    const g = { W, H, left, slot, upright, band, base, height: Math.max(20, base - TOP) };
    svg.classList.toggle('upright', upright);
    layoutY(g);
    layoutBars(g);
    layoutDates(g);
  }

  let current = bars.length - 1;
  const show = (b) => { info.textContent = b.getAttribute('aria-label'); };
  const open = (b) => vscode.postMessage({ type: 'openLog', index: Number(b.dataset.index) });
  bars.forEach((b, i) => {
    b.setAttribute('tabindex', i === current ? '0' : '-1');
    b.addEventListener('mouseenter', () => show(b));
    b.addEventListener('focus', () => {
      bars[current].setAttribute('tabindex', '-1');
      current = i;
      b.setAttribute('tabindex', '0');
      show(b);
    });
    b.addEventListener('click', () => { b.focus(); open(b); });
    b.addEventListener('keydown', (e) => {
      const to = { ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: bars.length - 1 }[e.key];
      if (to !== undefined) {
        e.preventDefault();
        if (to >= 0 && to < bars.length) { bars[to].focus(); }
      } else if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        open(b);
      }
    });
  });
  layout();
  new ResizeObserver(() => layout()).observe(plot);
  svg.classList.add('laid-out');
})();
`;
