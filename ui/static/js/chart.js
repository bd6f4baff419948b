// Small charts drawn as inline SVG (no library): bars per time bucket,
// stacked by series, and a line over samples. Values are numbers the page
// computed; labels go in as text nodes.

const NS = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs, ...kids) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

// barChart draws one stacked bar per bucket: buckets are {label, values:
// {series: n}}, series are [{key, name, cls}] from the bottom up.
export function barChart(buckets, series, opts) {
  const o = Object.assign({width: 1100, height: 180, id: ''}, opts || {});
  const pad = {l: 34, r: 8, t: 8, b: 20};
  const max = Math.max(1, ...buckets.map((b) => series.reduce((s, x) => s + (b.values[x.key] || 0), 0)));
  const w = (o.width - pad.l - pad.r) / Math.max(buckets.length, 1);
  const y = (v) => o.height - pad.b - (v / max) * (o.height - pad.t - pad.b);
  const svg = svgEl('svg', {viewBox: `0 0 ${o.width} ${o.height}`, class: 'chart', role: 'img', id: o.id});
  svg.append(svgEl('line', {x1: pad.l, x2: o.width - pad.r, y1: y(0), y2: y(0), class: 'axis'}));
  svg.append(svgEl('text', {x: pad.l - 4, y: y(max) + 4, class: 'tick', 'text-anchor': 'end'}, max));
  svg.append(svgEl('text', {x: pad.l - 4, y: y(0), class: 'tick', 'text-anchor': 'end'}, 0));
  buckets.forEach((b, i) => {
    let base = 0;
    const g = svgEl('g', {'data-bucket': b.label});
    g.append(svgEl('title', {}, b.label + ': ' + series.map((x) => x.name + ' ' + (b.values[x.key] || 0)).join(', ')));
    for (const x of series) {
      const v = b.values[x.key] || 0;
      if (!v) continue;
      g.append(svgEl('rect', {x: pad.l + i * w + 1, width: Math.max(w - 2, 1), y: y(base + v), height: y(base) - y(base + v), class: 'bar ' + x.cls}));
      base += v;
    }
    svg.append(g);
  });
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  buckets.forEach((b, i) => {
    if (i % every === 0) svg.append(svgEl('text', {x: pad.l + i * w + w / 2, y: o.height - 5, class: 'tick', 'text-anchor': 'middle'}, b.short || b.label));
  });
  return svg;
}

// lineChart draws points [{t: ms, v: n}] as a line, scaled to their range.
export function lineChart(points, opts) {
  const o = Object.assign({width: 220, height: 40, id: '', cls: 'line'}, opts || {});
  const svg = svgEl('svg', {viewBox: `0 0 ${o.width} ${o.height}`, class: 'spark', role: 'img', id: o.id});
  if (points.length === 0) return svg;
  const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
  const max = Math.max(1, ...points.map((p) => p.v));
  const xy = points.map((p) => [2 + ((p.t - t0) / (t1 - t0)) * (o.width - 4), o.height - 2 - (p.v / max) * (o.height - 4)]);
  if (xy.length === 1) xy.push([o.width - 2, xy[0][1]]);
  svg.append(svgEl('title', {}, 'max ' + max));
  svg.append(svgEl('polyline', {points: xy.map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' '), class: o.cls}));
  return svg;
}
