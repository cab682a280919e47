// mimamori page script: calendar, 24-hour timeline, player and live view; the
// file uploads (request documents, sign photos) and the masked-copy areas of the provision page. Served by the binary itself; talks only to this server.
// Pages that show live status ask to be reloaded now and then.
(() => {
  const r = document.querySelector('[data-refresh-seconds]');
  if (r) setTimeout(() => location.reload(), Number(r.dataset.refreshSeconds) * 1000);
})();
// Files sent as the body, with the CSRF header: the request document of a
// provision, the photo of a camera's sign.
document.querySelectorAll('form[data-upload]').forEach((form) => {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = form.querySelector('input[type="file"]').files[0];
    const status = form.querySelector('#document-status, .upload-status');
    if (!file) return;
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const r = await fetch(`${form.dataset.upload}?name=${encodeURIComponent(file.name)}`, {
      method: 'POST', headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/octet-stream' }, body: file,
    });
    if (r.ok) { location.reload(); return; }
    const body = await r.json().catch(() => ({}));
    status.textContent = (body.error && body.error.message) || r.statusText;
  });
});
// Masked copies: the still loads when its section opens; a drag over it adds
// the rectangle (in the clip's pixels) as a line of the areas field.
document.querySelectorAll('details[data-mask-package]').forEach((details) => {
  const area = details.querySelector('textarea[name="regions"]');
  details.addEventListener('toggle', () => {
    details.querySelectorAll('img[data-src]').forEach((img) => { if (!img.src) img.src = img.dataset.src; });
  });
  details.querySelectorAll('img[data-camera]').forEach((img) => {
    const fig = img.parentElement;
    fig.style.position = 'relative';
    let start = null; let box = null;
    const at = (ev) => {
      const r = img.getBoundingClientRect();
      const sx = img.naturalWidth / r.width; const sy = img.naturalHeight / r.height;
      return { x: Math.max(0, (ev.clientX - r.left) * sx), y: Math.max(0, (ev.clientY - r.top) * sy), sx, sy };
    };
    img.addEventListener('mousedown', (ev) => {
      ev.preventDefault();
      start = at(ev);
      box = document.createElement('div');
      box.className = 'mask-box';
      fig.appendChild(box);
    });
    window.addEventListener('mousemove', (ev) => {
      if (!start) return;
      const p = at(ev);
      box.style.left = `${img.offsetLeft + Math.min(start.x, p.x) / p.sx}px`;
      box.style.top = `${img.offsetTop + Math.min(start.y, p.y) / p.sy}px`;
      box.style.width = `${Math.abs(p.x - start.x) / p.sx}px`;
      box.style.height = `${Math.abs(p.y - start.y) / p.sy}px`;
    });
    window.addEventListener('mouseup', (ev) => {
      if (!start) return;
      const p = at(ev);
      const x = Math.round(Math.min(start.x, p.x)); const y = Math.round(Math.min(start.y, p.y));
      const w = Math.round(Math.abs(p.x - start.x)); const h = Math.round(Math.abs(p.y - start.y));
      start = null;
      if (w < 2 || h < 2) { box.remove(); return; }
      area.value = `${area.value.trim()}\n${img.dataset.camera} ${x} ${y} ${w} ${h}`.trim();
    });
  });
});
(() => {
  'use strict';
  const S = JSON.parse(document.getElementById('i18n').textContent);
  const JST = 9 * 3600 * 1000;
  const DAY = 24 * 3600 * 1000;
  const pad = (n) => String(n).padStart(2, '0');
  const jstParts = (ms) => {
    const t = new Date(ms + JST);
    return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes(), s: t.getUTCSeconds() };
  };
  const iso = (ms) => { const p = jstParts(ms); return `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}+09:00`; };
  const hms = (ms) => { const p = jstParts(ms); return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`; };
  const dayStart = (ymd) => Date.parse(`${ymd}T00:00:00+09:00`);
  const lang = document.documentElement.lang;

  const root = document.getElementById('viewer');
  if (!root) return;
  const cam = root.dataset.camera;
  let selected = root.dataset.today;
  let [year, month] = selected.split('-').map(Number);
  const player = document.getElementById('player');

  function era(y, m, d) {
    if (lang !== 'ja') return '';
    const n = y * 10000 + m * 100 + d;
    if (n >= 20190501) return y === 2019 ? '令和元年' : `令和${y - 2018}年`;
    if (n >= 19890108) return y === 1989 ? '平成元年' : `平成${y - 1988}年`;
    return '';
  }

  async function getJSON(url) {
    const r = await fetch(url, { credentials: 'same-origin' });
    if (!r.ok) throw new Error(`${r.status} ${url}`);
    return r.json();
  }

  async function renderCalendar() {
    const label = document.getElementById('cal-label');
    label.textContent = lang === 'ja' ? `${year}年${month}月（${era(year, month, 28)}）` : `${year}-${pad(month)}`;
    let days = [];
    try { days = (await getJSON(`/api/cameras/${cam}/days?month=${year}-${pad(month)}`)).days; } catch (e) { console.warn(e); }
    const grid = document.getElementById('cal-grid');
    grid.textContent = '';
    const names = lang === 'ja' ? ['日', '月', '火', '水', '木', '金', '土'] : ['Su', 'Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa'];
    for (const n of names) { const e = document.createElement('div'); e.className = 'wd'; e.textContent = n; grid.appendChild(e); }
    const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
    const count = new Date(Date.UTC(year, month, 0)).getUTCDate();
    for (let i = 0; i < first; i++) grid.appendChild(document.createElement('div'));
    for (let d = 1; d <= count; d++) {
      const ymd = `${year}-${pad(month)}-${pad(d)}`;
      const b = document.createElement('button');
      b.type = 'button'; b.textContent = d; b.dataset.day = ymd;
      if (days.includes(ymd)) b.classList.add('has-rec');
      if (ymd === selected) b.classList.add('selected');
      b.addEventListener('click', () => { selected = ymd; renderCalendar(); renderTimeline(); });
      grid.appendChild(b);
    }
  }

  let spans = [];
  async function renderTimeline() {
    const start = dayStart(selected);
    document.getElementById('tl-date').textContent = selected;
    const tl = document.getElementById('timeline');
    const data = await getJSON(`/api/cameras/${cam}/recordings?from=${encodeURIComponent(iso(start))}&to=${encodeURIComponent(iso(start + DAY))}`);
    tl.textContent = '';
    spans = data.spans.map((s) => [Date.parse(s.start), Date.parse(s.end)]);
    for (const [a, b] of spans) {
      const e = document.createElement('div');
      e.className = 'span';
      e.style.left = `${((a - start) / DAY) * 100}%`;
      e.style.width = `${((b - a) / DAY) * 100}%`;
      e.title = `${hms(a)}–${hms(b)}`;
      tl.appendChild(e);
    }
    const list = document.getElementById('gap-list');
    list.textContent = '';
    for (const g of data.gaps) {
      const a = Date.parse(g.start), b = Date.parse(g.end);
      const e = document.createElement('div');
      e.className = 'gapmark';
      e.style.left = `${((a - start) / DAY) * 100}%`;
      e.style.width = `${((b - a) / DAY) * 100}%`;
      const reason = S[`gap.${g.reason}`] || g.reason;
      e.title = `${hms(a)}–${hms(b)} ${reason}`;
      tl.appendChild(e);
      const li = document.createElement('li');
      li.dataset.reason = g.reason;
      li.textContent = `${hms(a)}–${hms(b)} ${S['view.gap']}: ${reason}`;
      list.appendChild(li);
    }
    const ticks = document.getElementById('ticks');
    ticks.textContent = '';
    for (let h = 0; h <= 24; h += 3) {
      const e = document.createElement('span'); e.style.left = `${(h / 24) * 100}%`; e.textContent = `${h}:00`; ticks.appendChild(e);
    }
  }

  // The span at `ms`, or the nearest one within `slack` ms (at 24 h a pixel is over a minute).
  function spanNear(ms, slack) {
    let best = null, bestDist = Infinity;
    for (const [a, b] of spans) {
      const d = ms < a ? a - ms : ms > b ? ms - b : 0;
      if (d < bestDist) { best = [a, b]; bestDist = d; }
    }
    return best && bestDist <= slack ? best : null;
  }

  // The stated purpose of viewing (REQ-PUR-1): asked before any recorded image is opened.
  const purposeSel = document.getElementById('purpose');
  const purposeNote = document.getElementById('purpose-note');
  const status = document.getElementById('playing-from');
  function purposeQuery() {
    if (!purposeSel || !purposeSel.value) return null;
    return `&purpose=${encodeURIComponent(purposeSel.value)}&note=${encodeURIComponent(purposeNote.value)}`;
  }
  function askPurpose() {
    for (const el of [status, document.getElementById('purpose-hint')]) {
      if (el) { el.textContent = S['view.purpose_hint']; el.className = 'error'; }
    }
    if (purposeSel) purposeSel.focus();
  }

  async function play(ms, slack = 0) {
    if (!player) return;
    const start = dayStart(selected);
    const span = spanNear(ms, slack);
    if (!span) { status.textContent = S['view.no_recording']; return; }
    const pq = purposeQuery();
    if (!pq) { askPurpose(); return; }
    // Inside: from there. Before: from its start. After its end: its last 30 s.
    const from = ms < span[0] ? span[0] : ms >= span[1] ? Math.max(span[0], span[1] - 30000) : ms;
    const to = Math.min(from + 3600000, start + DAY);
    const url = `/api/cameras/${cam}/video.mp4?start=${encodeURIComponent(iso(from))}&end=${encodeURIComponent(iso(to))}${pq}`;
    // Ask first: a refusal (terminal, instruction, purpose) comes back as a message to show.
    const probe = await fetch(url, { credentials: 'same-origin', headers: { Range: 'bytes=0-0' } });
    if (!probe.ok) {
      let msg = `${probe.status}`;
      try { const err = (await probe.json()).error; msg = (lang === 'ja' && err.message_ja) || err.message; } catch (e) { /* not JSON */ }
      status.textContent = msg;
      status.className = 'error';
      status.id = 'playing-from';
      player.removeAttribute('src');
      return;
    }
    status.className = 'muted';
    player.src = url;
    player.play().catch(() => {});
    status.textContent = `${S['view.playing_from']}: ${selected} ${hms(from)}`;
    const tl = document.getElementById('timeline');
    let c = tl.querySelector('.cursor');
    if (!c) { c = document.createElement('div'); c.className = 'cursor'; tl.appendChild(c); }
    c.style.left = `${((from - start) / DAY) * 100}%`;
  }

  document.getElementById('timeline').addEventListener('click', (ev) => {
    const r = ev.currentTarget.getBoundingClientRect();
    play(dayStart(selected) + ((ev.clientX - r.left) / r.width) * DAY, (3 / r.width) * DAY);
  });
  const playAt = document.getElementById('play-at');
  if (playAt) playAt.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = document.getElementById('play-time').value;
    if (v) play(Date.parse(`${selected}T${v.length === 5 ? v + ':00' : v}+09:00`));
  });
  document.getElementById('cal-prev').addEventListener('click', () => { month -= 1; if (month < 1) { month = 12; year -= 1; } renderCalendar(); });
  document.getElementById('cal-next').addEventListener('click', () => { month += 1; if (month > 12) { month = 1; year += 1; } renderCalendar(); });

  // Live view: codec text message, then the init segment, then one fragment per frame.
  const liveBtn = document.getElementById('live-start');
  if (liveBtn) {
    const video = document.getElementById('live');
    let active = false;
    const connect = () => {
      const pq = purposeQuery();
      if (!pq) { active = false; askPurpose(); return; }
      const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/cameras/${cam}/live?${pq.slice(1)}`);
      ws.binaryType = 'arraybuffer';
      let sb = null; const queue = [];
      const pump = () => {
        if (!sb || sb.updating || !queue.length) return;
        sb.appendBuffer(queue.shift());
        const b = video.buffered;
        if (b.length && b.end(b.length - 1) - video.currentTime > 3) video.currentTime = b.end(b.length - 1) - 0.5;
      };
      ws.onmessage = (ev) => {
        if (typeof ev.data === 'string') {
          const info = JSON.parse(ev.data);
          const ms = new MediaSource();
          video.src = URL.createObjectURL(ms);
          ms.addEventListener('sourceopen', () => {
            sb = ms.addSourceBuffer(`video/mp4; codecs="${info.codec}"`);
            sb.addEventListener('updateend', pump);
            pump();
          });
          video.play().catch(() => {});
        } else { queue.push(ev.data); pump(); }
      };
      // 1011: the node recording the camera could not be reached; asking again
      // at once would only log another viewing, so the person decides.
      ws.onclose = (ev) => {
        const unreachable = document.getElementById('live-unreachable');
        if (ev.code === 1011) { active = false; if (unreachable) unreachable.hidden = false; return; }
        if (unreachable) unreachable.hidden = true;
        if (active) setTimeout(connect, 1500);
      };
    };
    liveBtn.addEventListener('click', () => { if (!active) { active = true; connect(); } });
  }

  renderCalendar();
  renderTimeline().catch((e) => console.warn(e));
})();
