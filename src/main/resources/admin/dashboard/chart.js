// chart.js: a tiny hand-drawn SVG chart of the last samples of a tenant: request rate as a
// filled line, % of 5xx as red bars along the bottom. No library; the SVG is built once per
// tenant and its shapes are updated in place on every poll.
(function (KS) {
  'use strict';

  var NS = 'http://www.w3.org/2000/svg';
  var W = 240, H = 48;          // viewBox units; the element is stretched to its box by CSS
  KS.CHART_SAMPLES = 60;

  function svg(tag, attrs) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  // Returns {root, update(samples)}; samples are [{rate, errorPct}], oldest first.
  KS.createChart = function () {
    // preserveAspectRatio="none" lets the chart take any width; non-scaling-stroke keeps the
    // line 1.5 px thick however far it is stretched.
    var root = svg('svg', { 'class': 'chart', viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', role: 'img' });
    var title = svg('title');
    var grid = svg('line', { 'class': 'chart-grid', x1: 0, x2: W, y1: H / 2, y2: H / 2, 'vector-effect': 'non-scaling-stroke' });
    var bars = svg('g', { 'class': 'chart-errors' });
    var area = svg('path', { 'class': 'chart-area' });
    var line = svg('path', { 'class': 'chart-rate', 'vector-effect': 'non-scaling-stroke' });
    [title, grid, area, bars, line].forEach(function (n) { root.appendChild(n); });

    function update(samples) {
      var n = KS.CHART_SAMPLES, step = W / (n - 1);
      var list = samples.slice(-n);
      var offset = n - list.length;   // newest sample sits at the right edge
      var max = 0, maxErr = 0;
      list.forEach(function (s) { max = Math.max(max, s.rate); maxErr = Math.max(maxErr, s.errorPct || 0); });
      // Head room so the line does not touch the top; a flat zero line still shows at the bottom.
      var scale = max > 0 ? (H - 4) / max : 0;
      var pts = list.map(function (s, i) {
        return [((offset + i) * step).toFixed(1), (H - 1 - s.rate * scale).toFixed(1)];
      });
      var d = pts.length ? 'M' + pts.map(function (p) { return p[0] + ' ' + p[1]; }).join(' L') : '';
      line.setAttribute('d', d);
      area.setAttribute('d', pts.length > 1 ? d + ' L' + pts[pts.length - 1][0] + ' ' + H + ' L' + pts[0][0] + ' ' + H + ' Z' : '');

      // Error bars: height is the % of 5xx on a 0-100 scale, at least 2 units when there were
      // any, so a small error rate is still visible.
      while (bars.childNodes.length < list.length) bars.appendChild(svg('rect', { width: Math.max(1, step - 1) }));
      while (bars.childNodes.length > list.length) bars.removeChild(bars.lastChild);
      list.forEach(function (s, i) {
        var pct = s.errorPct || 0;
        var h = pct > 0 ? Math.max(2, pct / 100 * H) : 0;
        var r = bars.childNodes[i];
        r.setAttribute('x', ((offset + i) * step - step / 2).toFixed(1));
        r.setAttribute('y', (H - h).toFixed(1));
        r.setAttribute('height', h.toFixed(1));
      });

      title.textContent = list.length
        ? 'Last ' + list.length + ' samples: peak ' + max.toFixed(1) + ' req/s, peak ' + maxErr.toFixed(1) + ' % 5xx'
        : 'Collecting samples';
      return { max: max, maxErr: maxErr };
    }

    return { root: root, update: update };
  };
})(window.Keystone = window.Keystone || {});
