/* The run report's timeline (embedded into every page: no network, no external scripts).
 * Reads the trace and the run's result from the page's JSON blocks, draws one timeline per
 * device (commands by op and status, latency, bytes; fired rules, faults, TMRs and steps
 * marked), and lets the reader zoom and filter. The page's static parts (the reactions,
 * the faults, the kernel log) need none of this. */
(function () {
  'use strict';
  var body = document.body;
  function noteError(msg) {
    var el = document.getElementById('errors');
    if (el) { el.hidden = false; el.textContent += msg + '\n'; }
    body.setAttribute('data-errors', String((+body.getAttribute('data-errors') || 0) + 1));
  }
  window.addEventListener('error', function (ev) { noteError('script error: ' + ev.message); });

  var S = 14; /* the stride of an entry in T.e */
  var F_ABORTED = 1, F_LAT = 2, F_SENSE = 4, F_RULE = 8; /* F_RULE: a rule answered it */
  var UNITS = ['', 'blocks', 'bytes', 'count'];
  var STATUS = { 0: 'GOOD', 2: 'CHECK CONDITION', 8: 'BUSY', 0x18: 'RESERVATION CONFLICT',
                 0x28: 'TASK SET FULL', 0x30: 'ACA ACTIVE', 0x40: 'TASK ABORTED' };
  var COLOR = { good: '#8aa4c8', error: '#d62828', busy: '#f08c00', aborted: '#7b2cbf',
                rule: '#111111', tmr: '#2b9348', state: '#0b7285', step: 'rgba(80,120,200,0.10)',
                stepEdge: 'rgba(80,120,200,0.45)', grid: '#e6e6e6', text: '#333333' };

  var T = JSON.parse(document.getElementById('trace-data').textContent);
  var R = null;
  try { R = JSON.parse(document.getElementById('run-data').textContent); } catch (e) { R = null; }
  var names = T.names, E = T.e, N = Math.floor(E.length / S);
  /* device + '\n' + rule -> the state the rule puts its device in (from the scenario) */
  var stateOf = {};
  (T.states || []).forEach(function (x) { stateOf[x[0] + '\n' + x[1]] = x[2]; });
  function stateAfter(i) { return answered(i) ? stateOf[names[dev(i)] + '\n' + names[rule(i)]] : undefined; }

  function f(i, k) { return E[i * S + k]; }
  function t(i) { return f(i, 0); }
  function start(i) { return f(i, 1); }
  function dev(i) { return f(i, 2); }
  function op(i) { return f(i, 3); }
  function status(i) { return f(i, 4); }
  function rule(i) { return f(i, 10); }
  function flags(i) { return f(i, 13); }
  /* by the flag, not the rule's name: a rule may be named "" (names[0]) */
  function answered(i) { return (flags(i) & F_RULE) !== 0; }
  function isFault(i) { return answered(i) && (status(i) !== 0 || (flags(i) & F_ABORTED) !== 0); }
  function kind(i) {
    if (flags(i) & F_ABORTED) return 'aborted';
    var s = status(i);
    if (s === 0) return 'good';
    if (s === 8 || s === 0x28) return 'busy';
    return 'error';
  }
  function fmtT(s) {
    var a = Math.abs(s);
    if (a >= 1) return s.toFixed(3) + ' s';
    if (a >= 1e-3) return (s * 1e3).toFixed(2) + ' ms';
    return (s * 1e6).toFixed(0) + ' µs';
  }
  function statusName(s) { return STATUS[s] || ('0x' + s.toString(16)); }

  /* The time span: every command and every step. */
  var t0 = Infinity, t1 = -Infinity;
  for (var i = 0; i < N; i++) { t0 = Math.min(t0, start(i)); t1 = Math.max(t1, t(i)); }
  /* the steps of run.json, only those that can be drawn: the file may be anyone's */
  function finite(v) { return typeof v === 'number' && isFinite(v); }
  var steps = (R && Array.isArray(R.steps) ? R.steps : []).filter(function (s) {
    return s !== null && typeof s === 'object' && finite(s.start) && finite(s.end);
  });
  steps.forEach(function (s) { t0 = Math.min(t0, s.start); t1 = Math.max(t1, s.end); });
  T.tmr.forEach(function (m) { t0 = Math.min(t0, m[0]); t1 = Math.max(t1, m[0]); });
  if (!isFinite(t0)) { t0 = 0; t1 = 1; }
  if (t1 <= t0) t1 = t0 + 1e-3;
  var pad = (t1 - t0) * 0.01;
  var full = [t0 - pad, t1 + pad], view = full.slice();

  /* Filters. */
  var shownDev = {}, shownOp = {}, shownKind = { good: true, error: true, busy: true, aborted: true };
  var onlyRules = false;
  T.devices.forEach(function (d) { shownDev[d] = true; });

  /* Per device: its entries, its ops (lanes, most frequent first), its TMRs. */
  /* Entries and TMRs grouped by device in one pass (a scan per device took minutes for a
   * trace of thousands of devices). */
  var byDev = {}, tmrBy = {};
  T.devices.forEach(function (d) { byDev[d] = []; tmrBy[d] = []; });
  for (var i2 = 0; i2 < N; i2++) if (byDev[dev(i2)]) byDev[dev(i2)].push(i2);
  T.tmr.forEach(function (m) { if (tmrBy[m[1]]) tmrBy[m[1]].push(m); });
  var devs = T.devices.map(function (d) {
    var idx = byDev[d], count = {}, faults = 0, fired = 0, maxDur = 0;
    idx.forEach(function (i) {
      count[op(i)] = (count[op(i)] || 0) + 1;
      if (isFault(i)) faults++;
      if (answered(i)) fired++;
      maxDur = Math.max(maxDur, t(i) - start(i)); /* how far back one may still be in view */
    });
    idx.sort(function (a, b) { return start(a) - start(b); });
    var ops = Object.keys(count).map(Number).sort(function (a, b) {
      return count[b] - count[a] || (names[a] < names[b] ? -1 : 1);
    });
    ops.forEach(function (o) { shownOp[o] = true; });
    return { d: d, idx: idx, ops: ops, count: count, faults: faults, fired: fired,
             tmrs: tmrBy[d], maxDur: maxDur };
  });
  /* Past MAX_PANELS devices the others start hidden (tick them to see them): a panel is a
   * canvas, and thousands of them stall a browser. */
  var MAX_PANELS = 64;
  devs.forEach(function (D, k) { if (k >= MAX_PANELS) shownDev[D.d] = false; });
  if (devs.length > MAX_PANELS)
    body.setAttribute('data-devices-hidden', String(devs.length - MAX_PANELS));

  var LANE = 15, TOP = 34, AXIS = 18, STRIP = 56, LEFT = 150, RIGHT = 12;
  (function () { /* the lanes' labels decide the left margin */
    var g = document.createElement('canvas').getContext('2d');
    if (!g) return;
    g.font = '11px "DejaVu Sans", sans-serif';
    devs.forEach(function (D) {
      D.ops.forEach(function (o) {
        LEFT = Math.max(LEFT, Math.min(320, g.measureText(names[o] + ' (' + D.count[o] + ')').width + 12));
      });
    });
  })();
  var tip = document.getElementById('tip');
  var root = document.getElementById('devices');
  var marked = 0;

  function X(w, s) { return LEFT + (s - view[0]) / (view[1] - view[0]) * (w - LEFT - RIGHT); }
  function Tof(w, x) { return view[0] + (x - LEFT) / (w - LEFT - RIGHT) * (view[1] - view[0]); }

  function makePanel(D) {
    var box = document.createElement('div');
    box.className = 'dev';
    box.setAttribute('data-device', names[D.d]);
    box.setAttribute('data-faults', String(D.faults));
    var h = document.createElement('h3');
    h.textContent = names[D.d] + ': ' + D.idx.length + ' commands, ' + D.fired +
      ' answered by a rule, ' + D.faults + ' faults, ' + D.tmrs.length + ' TMRs';
    box.appendChild(h);
    var c = document.createElement('canvas');
    c.setAttribute('role', 'img');
    c.setAttribute('aria-label', 'timeline of ' + names[D.d]);
    box.appendChild(c);
    /* in the devices' order, whenever it is made */
    var next = null;
    for (var k = devs.indexOf(D) + 1; k < devs.length && !next; k++) if (devs[k].box) next = devs[k].box;
    root.insertBefore(box, next);
    D.box = box; D.canvas = c;
    attachZoom(D);
  }

  function lanesOf(D) { return D.ops.filter(function (o) { return shownOp[o]; }); }

  function visible(i) {
    if (!shownKind[kind(i)]) return false;
    if (onlyRules && !answered(i)) return false;
    return shownOp[op(i)];
  }

  function drawAll() {
    marked = 0;
    devs.forEach(function (D) {
      if (shownDev[D.d] && !D.box) makePanel(D);
      if (D.box) D.box.style.display = shownDev[D.d] ? '' : 'none';
      if (shownDev[D.d]) draw(D);
    });
    body.setAttribute('data-marked-faults', String(marked));
    var vr = document.getElementById('view-range');
    if (vr) vr.textContent = fmtT(view[0]) + ' to ' + fmtT(view[1]) + ' (' +
      fmtT(view[1] - view[0]) + ')';
  }

  function draw(D) {
    var c = D.canvas, lanes = lanesOf(D), dpr = window.devicePixelRatio || 1;
    var w = Math.max(400, c.parentNode.clientWidth || 1200);
    var laneH = lanes.length * LANE;
    var hgt = TOP + laneH + AXIS + 2 * STRIP + 8;
    c.width = Math.round(w * dpr); c.height = Math.round(hgt * dpr);
    c.style.height = hgt + 'px';
    var g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, hgt);
    g.font = '11px "DejaVu Sans", sans-serif';
    g.textBaseline = 'middle';
    D.lanes = lanes; D.w = w;
    var laneOf = {};
    lanes.forEach(function (o, k) { laneOf[o] = k; });
    /* steps: bands behind everything, numbered at the top */
    steps.forEach(function (s) {
      var a = X(w, s.start), b = Math.max(a + 1, X(w, s.end));
      if (b < LEFT || a > w - RIGHT) return;
      g.fillStyle = COLOR.step;
      g.fillRect(a, 14, b - a, TOP - 14 + laneH);
      g.fillStyle = s.failed ? COLOR.error : COLOR.stepEdge;
      g.fillRect(a, 14, Math.max(1, b - a), 3);
      g.fillStyle = COLOR.text;
      g.fillText(String(s.n), Math.max(a, LEFT) + 2, 22);
    });
    /* lanes */
    lanes.forEach(function (o, k) {
      var y = TOP + k * LANE;
      g.fillStyle = k % 2 ? '#fbfbfb' : '#f3f3f3';
      g.fillRect(LEFT, y, w - LEFT - RIGHT, LANE);
      g.fillStyle = COLOR.text;
      g.fillText(names[o] + ' (' + D.count[o] + ')', 4, y + LANE / 2);
    });
    g.fillStyle = COLOR.text;
    g.fillText('steps', 4, 22);
    /* commands; the strips below: latency and bytes, log scales */
    var latTop = TOP + laneH + AXIS, sizeTop = latTop + STRIP;
    var maxLat = 1, maxSize = 1;
    D.idx.forEach(function (i) {
      maxLat = Math.max(maxLat, (t(i) - start(i)) * 1e6);
      maxSize = Math.max(maxSize, f(i, 8) || f(i, 9));
    });
    var lo = lowerBound(D, view[0] - D.maxDur), shown = 0, here = 0;
    for (var j = lo; j < D.idx.length; j++) {
      var i = D.idx[j];
      if (start(i) > view[1]) break;
      if (t(i) < view[0] || !visible(i)) continue;
      var k = laneOf[op(i)];
      if (k === undefined) continue;
      shown++;
      var a = X(w, start(i)), b = Math.max(a + 1.5, X(w, t(i)));
      a = Math.max(a, LEFT); b = Math.min(b, w - RIGHT);
      g.fillStyle = COLOR[kind(i)];
      g.fillRect(a, TOP + k * LANE + 3, b - a, LANE - 6);
      if (flags(i) & F_LAT) {
        var ly = latTop + STRIP - 4 - Math.log10(1 + (t(i) - start(i)) * 1e6) /
          Math.log10(1 + maxLat) * (STRIP - 10);
        g.fillRect(b - 1, ly - 1, 2.5, 2.5);
      }
      var sz = f(i, 8) || f(i, 9);
      if (sz > 0) {
        var sy = sizeTop + STRIP - 4 - Math.log10(1 + sz) / Math.log10(1 + maxSize) * (STRIP - 10);
        g.fillRect(b - 1, sy - 1, 2.5, 2.5);
      }
      if (answered(i)) {
        /* a rule answered it: a triangle over the bar, filled for a fault */
        var y0 = TOP + k * LANE;
        g.beginPath();
        g.moveTo(a - 4, y0 - 1); g.lineTo(a + 4, y0 - 1); g.lineTo(a, y0 + 6); g.closePath();
        if (isFault(i)) { g.fillStyle = COLOR.error; g.fill(); marked++; here++; }
        g.strokeStyle = COLOR.rule; g.lineWidth = 1; g.stroke();
      }
    }
    D.shown = shown;
    D.box.setAttribute('data-marked', String(here));
    /* state changes: a diamond and the new state over the lanes, for each command a
     * set_state rule answered and each set_state step of this device */
    var changes = [];
    D.idx.forEach(function (i) {
      var st = stateAfter(i);
      if (st !== undefined) changes.push([t(i), st]);
    });
    steps.forEach(function (s) {
      var m = /^set_state (\S+) (.+)$/.exec(s.what || '');
      if (m && m[1] === names[D.d]) changes.push([s.end, m[2]]);
    });
    changes.forEach(function (c) {
      var x = X(w, c[0]);
      if (x < LEFT || x > w - RIGHT) return;
      g.fillStyle = COLOR.state;
      g.beginPath();
      g.moveTo(x, TOP - 12); g.lineTo(x + 4, TOP - 8); g.lineTo(x, TOP - 4); g.lineTo(x - 4, TOP - 8);
      g.closePath(); g.fill();
      g.fillText('→ ' + c[1], Math.min(x + 6, w - 80), TOP - 8);
    });
    D.box.setAttribute('data-state-changes', String(changes.length));
    D.box.setAttribute('data-states', JSON.stringify(changes.map(function (c) { return c[1]; })));
    /* TMRs: a line over every lane */
    D.tmrs.forEach(function (m) {
      var x = X(w, m[0]);
      if (x < LEFT || x > w - RIGHT) return;
      g.strokeStyle = COLOR.tmr; g.lineWidth = 2;
      g.beginPath(); g.moveTo(x, 12); g.lineTo(x, TOP + laneH); g.stroke();
      g.fillStyle = COLOR.tmr;
      g.fillText(names[m[2]], Math.min(x + 3, w - 90), 7);
    });
    /* the time axis, and the strips' frames */
    g.strokeStyle = COLOR.grid; g.fillStyle = COLOR.text; g.lineWidth = 1;
    var ticks = niceTicks(view[0], view[1], Math.max(2, Math.floor((w - LEFT) / 110)));
    ticks.forEach(function (s) {
      var x = X(w, s);
      g.beginPath(); g.moveTo(x, TOP); g.lineTo(x, hgt - 8); g.stroke();
      g.fillText(fmtT(s), x + 2, TOP + laneH + AXIS / 2);
    });
    g.strokeStyle = '#bbb';
    g.strokeRect(LEFT, latTop, w - LEFT - RIGHT, STRIP - 2);
    g.strokeRect(LEFT, sizeTop, w - LEFT - RIGHT, STRIP - 2);
    g.fillStyle = COLOR.text;
    g.fillText('latency (log)', 4, latTop + 10);
    g.fillText('max ' + fmtT(maxLat / 1e6), 4, latTop + 26);
    g.fillText('bytes (log)', 4, sizeTop + 10);
    g.fillText('max ' + maxSize, 4, sizeTop + 26);
  }

  function lowerBound(D, s) {
    /* the first entry (by start) that may still be in flight at s: starts are sorted */
    var lo = 0, hi = D.idx.length;
    while (lo < hi) { var m = (lo + hi) >> 1; if (start(D.idx[m]) < s) lo = m + 1; else hi = m; }
    return lo;
  }

  function niceTicks(a, b, n) {
    var span = b - a, raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (m) { return m * p; })
      .filter(function (s) { return s >= raw; })[0] || 10 * p;
    var out = [];
    for (var s = Math.ceil(a / step) * step; s <= b && out.length < 100; s += step) out.push(s);
    return out;
  }

  function hit(D, x, y) {
    var w = D.w, k = Math.floor((y - TOP) / LANE);
    if (k < 0 || k >= D.lanes.length || x < LEFT) return -1;
    var s = Tof(w, x), tol = (view[1] - view[0]) / (w - LEFT - RIGHT) * 4, best = -1, bd = Infinity;
    for (var j = lowerBound(D, s - tol - D.maxDur); j < D.idx.length; j++) {
      var i = D.idx[j];
      if (start(i) > s + tol) break;
      if (op(i) !== D.lanes[k] || !visible(i) || t(i) < s - tol) continue;
      var d = s < start(i) ? start(i) - s : s > t(i) ? s - t(i) : 0;
      if (d < bd) { bd = d; best = i; }
    }
    return best;
  }

  function describe(i) {
    var lines = [names[dev(i)] + ' ' + names[op(i)] + '  cdb ' + T.cdb[i]];
    if (f(i, 5) >= 0) lines.push('lba ' + f(i, 5) + (f(i, 6) >= 0 ? ' + ' + f(i, 6) + ' ' + UNITS[f(i, 7)] : ''));
    else if (f(i, 6) >= 0) lines.push(f(i, 6) + ' ' + UNITS[f(i, 7)]);
    var st = statusName(status(i));
    if (flags(i) & F_SENSE) {
      var aq = f(i, 12);
      st += ', ' + names[f(i, 11)] + ' ' + ('0' + (aq >> 8).toString(16)).slice(-2) + '/' +
        ('0' + (aq & 255).toString(16)).slice(-2);
    }
    if (flags(i) & F_ABORTED) st += ', aborted';
    lines.push(st);
    if (answered(i)) lines.push('rule ' + names[rule(i)]);
    lines.push('arrived ' + fmtT(start(i)) + ((flags(i) & F_LAT) ? ', answered after ' +
      fmtT(t(i) - start(i)) : ', answered at ' + fmtT(t(i))));
    lines.push('data in ' + f(i, 8) + ' of ' + f(i, 9) + ' bytes');
    return lines.join('\n');
  }

  function attachZoom(D) {
    var c = D.canvas, from = null;
    function px(ev) { var r = c.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; }
    c.addEventListener('mousedown', function (ev) { from = px(ev)[0]; });
    c.addEventListener('mouseup', function (ev) {
      var to = px(ev)[0];
      if (from !== null && Math.abs(to - from) > 4) {
        var a = Tof(D.w, Math.min(from, to)), b = Tof(D.w, Math.max(from, to));
        view = [Math.max(a, full[0]), Math.min(b, full[1])];
        drawAll();
      }
      from = null;
    });
    c.addEventListener('dblclick', function () { view = full.slice(); drawAll(); });
    c.addEventListener('mousemove', function (ev) {
      var p = px(ev), i = hit(D, p[0], p[1]);
      if (i < 0) { tip.style.display = 'none'; return; }
      tip.textContent = describe(i);
      tip.style.left = (ev.clientX + 14) + 'px';
      tip.style.top = (ev.clientY + 10) + 'px';
      tip.style.display = 'block';
    });
    c.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  }

  function zoomTo(a, b) {
    var m = Math.max((b - a) * 0.25, 1e-4);
    view = [Math.max(full[0], a - m), Math.min(full[1], b + m)];
    drawAll();
    var tl = document.getElementById('timeline');
    if (tl && tl.scrollIntoView) tl.scrollIntoView();
  }

  /* Controls: devices, statuses, ops, zoom. */
  function checkbox(parent, label, checked, on) {
    var l = document.createElement('label'), b = document.createElement('input');
    b.type = 'checkbox'; b.checked = checked;
    b.addEventListener('change', function () { on(b.checked); drawAll(); });
    l.appendChild(b); l.appendChild(document.createTextNode(' ' + label));
    parent.appendChild(l);
    return b;
  }
  var cDev = document.getElementById('f-devices'), cKind = document.getElementById('f-status'),
      cOps = document.getElementById('f-ops');
  var devBoxes = [], kindBoxes = [];
  devs.forEach(function (D) {
    var b = checkbox(cDev, names[D.d], !!shownDev[D.d], function (v) { shownDev[D.d] = v; });
    b.dev = D.d;
    devBoxes.push(b);
  });
  [['good', 'GOOD'], ['error', 'errors'], ['busy', 'BUSY, TASK SET FULL'], ['aborted', 'aborted']]
    .forEach(function (k) {
      var b = checkbox(cKind, k[1], true, function (v) { shownKind[k[0]] = v; });
      b.kind = k[0];
      kindBoxes.push(b);
    });
  var rulesBox = checkbox(cKind, 'only answered by a rule', false, function (v) { onlyRules = v; });
  var opBoxes = [];
  Object.keys(shownOp).map(Number).sort(function (a, b) { return names[a] < names[b] ? -1 : 1; })
    .forEach(function (o) {
      opBoxes.push(checkbox(cOps, names[o], true, function (v) { shownOp[o] = v; }));
      opBoxes[opBoxes.length - 1].op = o;
    });
  function allOps(v) {
    opBoxes.forEach(function (b) { b.checked = v; shownOp[b.op] = v; });
    drawAll();
  }
  document.getElementById('ops-all').addEventListener('click', function () { allOps(true); });
  document.getElementById('ops-none').addEventListener('click', function () { allOps(false); });
  document.getElementById('zoom-reset').addEventListener('click', function () {
    view = full.slice(); drawAll();
  });
  document.getElementById('zoom-out').addEventListener('click', function () {
    var m = (view[1] - view[0]) / 2;
    view = [Math.max(full[0], view[0] - m), Math.min(full[1], view[1] + m)];
    drawAll();
  });

  /* The reactions (static list): a click zooms to the episode. */
  Array.prototype.forEach.call(document.querySelectorAll('.reactions li[data-fault]'), function (li) {
    li.addEventListener('click', function () {
      var a = +li.getAttribute('data-fault'), b = +li.getAttribute('data-last');
      if (a >= 0 && a < N && b >= 0 && b < N) zoomTo(start(a), t(b));
    });
  });

  /* The steps, from the run's result. */
  var st = document.getElementById('steps-table');
  if (st && steps.length) {
    var tb = st.querySelector('tbody');
    steps.forEach(function (s) {
      var tr = document.createElement('tr');
      tr.className = 'step' + (s.failed ? ' failed' : '');
      [String(s.n), String(s.line), null, fmtT(s.start), fmtT(s.end - s.start),
        s.failed ? 'failed' : 'ok', null].forEach(function (v, k) {
        var td = document.createElement('td');
        if (k === 2) { var code = document.createElement('code'); code.textContent = s.what == null ? '' : String(s.what); td.appendChild(code); }
        else if (k === 6) {
          if (typeof s.output === 'string' && s.output) {
            var d = document.createElement('details'), sm = document.createElement('summary'),
                pre = document.createElement('pre');
            sm.textContent = s.output.split('\n').length + ' lines';
            pre.textContent = s.output;
            d.appendChild(sm); d.appendChild(pre); td.appendChild(d);
          }
        } else td.textContent = v;
        if (k === 0 || k === 1 || k === 3 || k === 4) td.className = 'num';
        tr.appendChild(td);
      });
      tr.addEventListener('click', function (ev) {
        if (ev.target.tagName !== 'SUMMARY') zoomTo(s.start, s.end);
      });
      tb.appendChild(tr);
    });
    st.hidden = false;
  } else if (st) {
    var none = document.getElementById('steps-none');
    if (none) none.hidden = false;
  }

  /* A view can be linked: #device=d0,d1&op=READ_10&status=error,busy&rules=1&from=S&to=S
   * (the checks in scripts/check-report use it too). */
  function fromHash() {
    var h = (location.hash || '').replace(/^#/, '');
    if (!h) return;
    h.split('&').forEach(function (kv) {
      var p = kv.split('='), k = decodeURIComponent(p[0] || ''), v = decodeURIComponent(p[1] || '');
      var list = v.split(',');
      if (k === 'device')
        devs.forEach(function (D) { shownDev[D.d] = list.indexOf(names[D.d]) >= 0; });
      else if (k === 'op')
        Object.keys(shownOp).forEach(function (o) { shownOp[o] = list.indexOf(names[o]) >= 0; });
      else if (k === 'status')
        Object.keys(shownKind).forEach(function (s) { shownKind[s] = list.indexOf(s) >= 0; });
      else if (k === 'rules')
        onlyRules = v === '1';
      else if (k === 'from' && isFinite(parseFloat(v)))
        view[0] = Math.max(full[0], parseFloat(v));
      else if (k === 'to' && isFinite(parseFloat(v)))
        view[1] = Math.min(full[1], parseFloat(v));
    });
    if (view[1] <= view[0]) view = full.slice();
    syncBoxes();
  }
  function syncBoxes() {
    opBoxes.forEach(function (b) { b.checked = !!shownOp[b.op]; });
    devBoxes.forEach(function (b) { b.checked = !!shownDev[b.dev]; });
    kindBoxes.forEach(function (b) { b.checked = !!shownKind[b.kind]; });
    if (rulesBox) rulesBox.checked = onlyRules;
  }
  fromHash();
  window.addEventListener('hashchange', function () { fromHash(); drawAll(); });
  window.addEventListener('resize', drawAll);
  window.addEventListener('beforeprint', function () { view = full.slice(); drawAll(); });
  drawAll();
  body.setAttribute('data-faults', String(devs.reduce(function (n, D) { return n + D.faults; }, 0)));
  body.setAttribute('data-ready', '1');
})();
