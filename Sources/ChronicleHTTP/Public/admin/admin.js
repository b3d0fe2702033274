// Chronicle's admin console: streams and their events, the global log (live), the subscriptions with
// their controls, and a chart of the event rate and each subscription's lag.
//
// Everything shown is read from the server: /streams, /streams/<name>, /events/<id>,
// /log?correlation=<id>, /log, /events/live (server-sent events) and /admin/api/*.
(function () {
  'use strict';

  const byId = (id) => document.getElementById(id);
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const LOG_ROWS = 300;          // rows kept in the global log table
  const SUBSCRIPTIONS_EVERY = 1000;
  const HISTORY_EVERY = 2000;

  const els = {
    head: byId('head'),
    live: byId('live-status'),
    error: byId('error'),
    errorText: byId('error-text'),
    errorDismiss: byId('error-dismiss'),
    subscriptions: byId('subscriptions').tBodies[0],
    subscriptionMessage: byId('subscription-message'),
    chart: byId('chart'),
    chartSummary: byId('chart-summary'),
    chartLegend: byId('chart-legend'),
    streamFilter: byId('stream-filter'),
    streamCategory: byId('stream-category'),
    streamCount: byId('stream-count'),
    streams: byId('streams'),
    inspectorTitle: byId('inspector-title'),
    inspectorNote: byId('inspector-note'),
    inspector: byId('stream-events'),
    log: byId('log').tBodies[0],
  };

  let head = 0;
  let streams = [];            // [{name, version, last_position, last_written_at}]
  let lastLogPosition = 0;     // newest event in the log table
  /** What the inspector shows: {kind: 'stream'|'event'|'correlation', key} or null. */
  let inspected = null;
  let inspectToken = 0;        // answers to an older inspection are dropped

  // ---------------------------------------------------------------- HTTP

  class ApiError extends Error {
    constructor(message, status, payload) { super(message); this.status = status; this.payload = payload; }
  }

  async function api(method, path, body) {
    let response;
    try {
      response = await fetch(path, method === 'GET'
        ? { method, headers: { Accept: 'application/json' } }
        // The server takes commands only as JSON (a guard against cross-site form posts).
        : { method, headers: { Accept: 'application/json', 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}) });
    } catch (e) {
      throw new ApiError(`the server cannot be reached (${e.message})`, 0);
    }
    const text = await response.text();
    let payload = null;
    try { payload = text ? JSON.parse(text) : null; } catch (_) { /* reported below */ }
    if (!response.ok) {
      const reason = payload && typeof payload.error === 'string' ? payload.error : `${response.status} ${response.statusText}`;
      throw new ApiError(reason, response.status, payload);
    }
    return payload;
  }

  const enc = encodeURIComponent;

  // ---------------------------------------------------------------- errors and messages

  let errorSource = null;  // which poller raised the error on screen, so its recovery can clear it

  function showError(message, source) {
    els.errorText.textContent = message;
    els.error.hidden = false;
    errorSource = source || null;
  }

  function clearError(source) {
    if (source && errorSource !== source) return;
    els.error.hidden = true;
    els.errorText.textContent = '';
    errorSource = null;
  }

  els.errorDismiss.addEventListener('click', () => clearError());

  function setHead(position) {
    const p = Number(position) || 0;
    if (p > head || head === 0) head = p;
    els.head.textContent = String(head);
  }

  // ---------------------------------------------------------------- formatting

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function link(href, className, text, label) {
    const a = el('a', className, text);
    a.href = href;
    if (label) a.setAttribute('aria-label', label);
    return a;
  }

  function pad(n, width) { return String(n).padStart(width || 2, '0'); }

  /** Local time, with the date when it is not today; the ISO time goes in `datetime`/`title`. */
  function timeNode(iso, className) {
    const node = el('time', className);
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) {
      node.textContent = iso || '–';
      return node;
    }
    const clock = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
    const sameDay = date.toDateString() === new Date().toDateString();
    node.textContent = sameDay
      ? clock
      : `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${clock}`;
    node.dateTime = iso;
    node.title = iso;
    return node;
  }

  /**
   * Pretty-printed JSON as DOM nodes (never innerHTML: event data is user input). String values under
   * a key in `links` become links made by that function.
   */
  /** Bytes (base64 from the server) as a hex dump of the first 512, with their count and content type. */
  function bytesBlock(base64, contentType, className) {
    const raw = atob(base64);
    const shown = Math.min(raw.length, 512);
    const lines = [];
    for (let offset = 0; offset < shown; offset += 16) {
      const row = [];
      for (let i = offset; i < Math.min(offset + 16, shown); i++) row.push(raw.charCodeAt(i).toString(16).padStart(2, '0'));
      lines.push(`${offset.toString(16).padStart(4, '0')}  ${row.join(' ')}`);
    }
    const more = raw.length > shown ? `\n… ${raw.length - shown} more bytes` : '';
    return el('pre', className, `${contentType}, ${raw.length} bytes\n${lines.join('\n')}${more}`);
  }

  function jsonBlock(value, className, links) {
    const pre = el('pre', className);
    const write = (v, depth, key) => {
      const indent = '  '.repeat(depth);
      if (v === null || typeof v !== 'object') {
        const text = JSON.stringify(v);
        const make = typeof v === 'string' && key && links && links[key];
        pre.append(make ? make(v, text) : el('span', `json-${v === null ? 'null' : typeof v}`, text));
        return;
      }
      const isArray = Array.isArray(v);
      const entries = isArray ? v.map((x) => [null, x]) : Object.entries(v);
      if (entries.length === 0) {
        pre.append(isArray ? '[]' : '{}');
        return;
      }
      pre.append(isArray ? '[\n' : '{\n');
      entries.forEach(([k, x], i) => {
        pre.append(indent + '  ');
        if (!isArray) pre.append(el('span', 'json-key', JSON.stringify(k)), ': ');
        write(x, depth + 1, isArray ? key : k);
        pre.append(i < entries.length - 1 ? ',\n' : '\n');
      });
      pre.append(indent + (isArray ? ']' : '}'));
    };
    write(value, 0, null);
    return pre;
  }

  const metadataLinks = {
    causation_id: (id, text) => link(`#/events/${enc(id)}`, 'causation', text, `Show what caused this: ${id}`),
    correlation_id: (id, text) => link(`#/correlation/${enc(id)}`, 'correlation', text, `Show the conversation ${id}`),
  };

  /** One event as a card: type, stream and version, global position, time, data, metadata. */
  function eventCard(event) {
    const card = el('article', 'event');
    card.dataset.id = event.id;
    card.dataset.position = event.position;
    const header = el('header', 'event-header');
    header.append(
      el('strong', 'event-type', event.type),
      link(`#/streams/${enc(event.stream)}`, 'event-stream', event.stream, `Stream ${event.stream}`),
      el('span', 'event-version', `v${event.version}`),
      el('span', 'event-position', `#${event.position}`),
      timeNode(event.recorded_at, 'event-time'),
    );
    header.querySelector('.event-position').title = 'Global position';
    header.querySelector('.event-version').title = 'Version in its stream';
    const body = el('div', 'event-body');
    const data = el('div', 'event-part');
    // Bytes a KurrentDB client wrote (not JSON text) show as bytes, with their content type.
    data.append(el('h4', null, 'Data'),
      event.data_base64 == null ? jsonBlock(event.data, 'event-data') : bytesBlock(event.data_base64, event.content_type, 'event-data event-bytes'));
    if (event.custom_metadata_base64 != null) {
      data.append(el('h4', null, 'Custom metadata'), bytesBlock(event.custom_metadata_base64, 'bytes', 'event-custom-metadata event-bytes'));
    }
    const meta = el('div', 'event-part');
    meta.append(el('h4', null, 'Metadata'), jsonBlock(event.metadata || {}, 'event-metadata', metadataLinks));
    body.append(data, meta);
    const id = el('p', 'event-id muted');
    id.append('id ', el('code', null, event.id));
    card.append(header, body, id);
    return card;
  }

  // ---------------------------------------------------------------- the inspector (stream / event / conversation)

  function setInspector(title, note) {
    els.inspectorTitle.textContent = title;
    els.inspectorNote.textContent = note || '';
    els.inspectorNote.hidden = !note;
  }

  function showEvents(events) {
    els.inspector.replaceChildren(...events.map(eventCard));
  }

  async function inspect(kind, key) {
    inspected = { kind, key };
    const token = ++inspectToken;
    els.inspector.dataset.view = kind;
    markSelectedStream();
    try {
      if (kind === 'stream') {
        setInspector(`Stream ${key}`, 'Loading…');
        const answer = await api('GET', `/admin/api/streams/${enc(key)}`);
        if (token !== inspectToken) return;
        setInspector(`Stream ${key}`, `${answer.events.length} event${answer.events.length === 1 ? '' : 's'}, oldest first`);
        showEvents(answer.events);
        if (answer.events.length > 1) els.inspector.prepend(revertForm(key, answer.events.length));
      } else if (kind === 'event') {
        setInspector(`Event ${key}`, 'Loading…');
        try {
          const event = await api('GET', `/admin/api/events/${enc(key)}`);
          if (token !== inspectToken) return;
          setInspector(`Event ${key}`, `What caused the event you followed: position #${event.position}.`);
          showEvents([event]);
        } catch (e) {
          if (e.status !== 404) throw e;
          if (token !== inspectToken) return;
          // Commands are decided, not stored: their ids appear as causation ids only.
          setInspector('Command', '');
          const note = el('div', 'command-note');
          note.append(
            el('p', null, `${key} is a command, not a stored event: the command that caused these events.`),
            link(`#/correlation/${enc(key)}`, 'correlation', 'Show the conversation it started'));
          els.inspector.replaceChildren(note);
        }
      } else if (kind === 'correlation') {
        setInspector(`Conversation ${key}`, 'Loading…');
        const answer = await api('GET', `/admin/api/log?correlation=${enc(key)}`);
        if (token !== inspectToken) return;
        setInspector(`Conversation ${key}`,
          `${answer.events.length} event${answer.events.length === 1 ? '' : 's'} with this correlation id, in log order`);
        showEvents(answer.events);
      }
    } catch (e) {
      if (token !== inspectToken) return;
      setInspector(els.inspectorTitle.textContent, '');
      els.inspector.replaceChildren();
      showError(`Could not load ${kind} ${key}: ${e.message}`);
    }
  }

  /**
   * Reverse events: appends the compensating events that bring the stream back to its state at a
   * version. History stays; a refusal names the events that cannot be undone.
   */
  function revertForm(stream, version) {
    const form = el('form', 'revert-form');
    form.setAttribute('aria-label', `Revert ${stream}`);
    const label = el('label', null, 'Revert to version');
    const input = el('input');
    input.type = 'number';
    input.min = '1';
    input.max = String(version - 1);
    input.value = String(version - 1);
    input.required = true;
    input.id = 'revert-version';
    label.htmlFor = input.id;
    const button = el('button', 'revert', 'Revert');
    button.type = 'submit';
    const message = el('p', 'revert-message');
    message.id = 'revert-message';
    message.setAttribute('role', 'status');
    form.append(label, input, button, message);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const to = Number(input.value);
      button.disabled = true;
      try {
        const outcome = await api('POST', `/admin/api/streams/${enc(stream)}/revert`, { to_version: to });
        const undone = outcome.steps.filter((s) => s.compensated_by.length > 0).length;
        const notes = outcome.steps.filter((s) => s.note).map((s) => `${s.type}: ${s.note}`);
        message.textContent = `Reverted to version ${to}: ${undone} event${undone === 1 ? '' : 's'} compensated, `
          + `the stream is at version ${outcome.stream_version}.` + (notes.length ? ` ${notes.join(' ')}` : '');
        clearError('revert');
        await inspect('stream', stream);
        const again = document.getElementById('revert-message');
        if (again) again.textContent = message.textContent;
      } catch (err) {
        const refused = err.payload && err.payload.steps ? err.payload.steps.filter((s) => s.refused).map((s) => `${s.type} (version ${s.version})`) : [];
        message.textContent = refused.length
          ? `Refused: nothing appended; these events cannot be undone: ${refused.join(', ')}.`
          : `Refused: ${err.message}`;
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  /** A live event that belongs to what the inspector shows is appended to it. */
  function inspectLive(event) {
    if (!inspected) return;
    const belongs = (inspected.kind === 'stream' && event.stream === inspected.key)
      || (inspected.kind === 'correlation' && event.metadata && event.metadata.correlation_id === inspected.key);
    if (!belongs || els.inspector.querySelector(`article.event[data-id="${CSS.escape(event.id)}"]`)) return;
    els.inspector.append(eventCard(event));
    const count = els.inspector.querySelectorAll('article.event').length;
    els.inspectorNote.textContent = inspected.kind === 'stream'
      ? `${count} event${count === 1 ? '' : 's'}, oldest first`
      : `${count} event${count === 1 ? '' : 's'} with this correlation id, in log order`;
  }

  function route() {
    const hash = window.location.hash;
    let m;
    if ((m = hash.match(/^#\/streams\/(.+)$/))) inspect('stream', decodeURIComponent(m[1]));
    else if ((m = hash.match(/^#\/events\/(.+)$/))) inspect('event', decodeURIComponent(m[1]));
    else if ((m = hash.match(/^#\/correlation\/(.+)$/))) inspect('correlation', decodeURIComponent(m[1]));
    // Other hashes (the skip link's #main) leave the inspector as it is.
  }
  window.addEventListener('hashchange', route);

  // ---------------------------------------------------------------- streams

  async function loadStreams() {
    try {
      // With each stream's category, last event type and summary (a todo's title), to search by.
      const answer = await api('GET', '/admin/api/streams?limit=1000');
      streams = answer.streams || [];
      updateCategories(answer.categories || []);
      renderStreams();
      clearError('streams');
    } catch (e) {
      showError(`Could not read the streams: ${e.message}`, 'streams');
    }
  }

  let streamsTimer = null;
  function scheduleStreams() {
    if (streamsTimer) return;
    streamsTimer = setTimeout(() => { streamsTimer = null; loadStreams(); }, 250);
  }

  function updateCategories(categories) {
    const select = els.streamCategory;
    const current = [...select.options].slice(1).map((o) => o.value);
    if (JSON.stringify(current) === JSON.stringify(categories)) return;
    const chosen = select.value;
    const all = el('option', null, 'All categories');
    all.value = '';
    select.replaceChildren(all, ...categories.map((c) => { const o = el('option', null, c); o.value = c; return o; }));
    select.value = categories.includes(chosen) ? chosen : '';
  }

  /** Whether `stream` matches the search box (name, category, last event type or summary) and the category. */
  function streamMatches(stream, needle, category) {
    if (category && stream.category !== category) return false;
    if (!needle) return true;
    return [stream.name, stream.category, stream.last_type, stream.summary]
      .some((text) => text && text.toLowerCase().includes(needle));
  }

  function renderStreams() {
    const needle = els.streamFilter.value.trim().toLowerCase();
    const category = els.streamCategory.value;
    // Most recently written first: that is usually the one being looked for.
    const shown = streams
      .filter((s) => streamMatches(s, needle, category))
      .sort((a, b) => b.last_position - a.last_position);
    const existing = new Map([...els.streams.children].map((li) => [li.dataset.name, li]));
    let cursor = els.streams.firstElementChild;
    for (const stream of shown) {
      let li = existing.get(stream.name);
      if (!li) {
        li = el('li');
        li.dataset.name = stream.name;
        const a = link(`#/streams/${enc(stream.name)}`, 'stream-link');
        a.append(el('span', 'stream-summary'), el('span', 'stream-name', stream.name), el('span', 'stream-version'),
          el('span', 'stream-time'), el('span', 'stream-meta'));
        li.append(a);
      }
      const signature = `${stream.last_position} ${stream.summary || ''}`;
      if (li.dataset.signature !== signature) {
        li.dataset.signature = signature;
        li.dataset.position = stream.last_position;
        li.querySelector('.stream-summary').textContent = stream.summary || '';
        li.querySelector('.stream-meta').textContent = [stream.category, stream.last_type].filter(Boolean).join(' · ');
        li.querySelector('.stream-version').textContent = `v${stream.version}`;
        li.querySelector('.stream-version').title = `Version ${stream.version}, last at position ${stream.last_position}`;
        li.querySelector('.stream-time').replaceChildren(timeNode(stream.last_written_at));
      }
      if (li === cursor) cursor = cursor.nextElementSibling;
      else els.streams.insertBefore(li, cursor);
    }
    while (cursor) {
      const next = cursor.nextElementSibling;
      cursor.remove();
      cursor = next;
    }
    els.streamCount.textContent = needle || category
      ? `${shown.length} of ${streams.length} streams`
      : `${streams.length} stream${streams.length === 1 ? '' : 's'}`;
    markSelectedStream();
  }

  function markSelectedStream() {
    for (const li of els.streams.children) {
      const selected = !!inspected && inspected.kind === 'stream' && inspected.key === li.dataset.name;
      li.classList.toggle('selected', selected);
      const a = li.firstElementChild;
      if (selected) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    }
  }

  els.streamFilter.addEventListener('input', renderStreams);
  els.streamCategory.addEventListener('change', renderStreams);

  // ---------------------------------------------------------------- the global log

  function addLogRow(event) {
    if (event.position <= lastLogPosition) return;  // already shown (a reconnect may overlap)
    lastLogPosition = event.position;
    const tr = el('tr');
    tr.dataset.position = event.position;
    const position = el('td', 'num', event.position);
    const time = el('td');
    time.append(timeNode(event.recorded_at));
    const stream = el('td');
    stream.append(link(`#/streams/${enc(event.stream)}`, 'log-stream', event.stream));
    const version = el('td', 'num', event.version);
    const type = el('td', 'log-type', event.type);
    const show = el('td');
    show.append(link(`#/events/${enc(event.id)}`, 'log-event', 'show', `Show the event at position ${event.position}`));
    tr.append(position, time, stream, version, type, show);
    els.log.insertBefore(tr, els.log.firstElementChild);
    while (els.log.rows.length > LOG_ROWS) els.log.deleteRow(-1);
  }

  async function loadLog() {
    const after = Math.max(0, head - 100);
    try {
      const answer = await api('GET', `/admin/api/log?after=${after}&limit=100`);
      for (const event of answer.events) addLogRow(event);
      clearError('log');
    } catch (e) {
      showError(`Could not read the log: ${e.message}`, 'log');
    }
  }

  // ---------------------------------------------------------------- live feed

  function connectLive() {
    // The shared live feed (/chronicle/live.js), right after the newest event on screen.
    ChronicleLive.follow({
      url: '/admin/api/events/live',
      after: () => lastLogPosition,
      onEvent: (event) => {
        setHead(event.position);
        addLogRow(event);
        inspectLive(event);
        scheduleStreams();
      },
      onStatus: (text, live) => {
        els.live.textContent = text;
        els.live.classList.toggle('on', live);
      },
    });
  }

  // ---------------------------------------------------------------- subscriptions

  const KIND_NAMES = { projection: 'projection', reactor: 'reactor', process_manager: 'process manager' };

  function subscriptionRow(sub) {
    const tr = el('tr');
    tr.dataset.name = sub.name;
    const name = el('th');
    name.scope = 'row';
    const detail = el('span', 'kind', `${KIND_NAMES[sub.kind] || sub.kind} · `);
    detail.append(el('span', 'processed'), ' processed');
    name.append(el('span', 'sub-name', sub.name), detail);
    if (sub.kind === 'projection') name.append(el('div', 'rebuild'));
    const state = el('td', 'state');
    const actions = el('td', 'actions');
    if (sub.kind === 'projection') {
      actions.append(actionButton('rebuild', 'Rebuild', sub.name));
    }
    if (sub.kind === 'process_manager') {
      detail.append(' · ', el('span', 'open-instances'), ' open');
      actions.append(actionButton('instances', 'Instances', sub.name));
    }
    actions.append(actionButton('pause', 'Pause', sub.name), actionButton('resume', 'Resume', sub.name));
    tr.append(name, state, el('td', 'num checkpoint'), el('td', 'num lag'), el('td', 'num rate'), actions);
    return tr;
  }

  function actionButton(action, text, name) {
    const button = el('button', action, text);
    button.type = 'button';
    button.dataset.action = action;
    button.setAttribute('aria-label', `${text} ${name}`);
    return button;
  }

  function updateSubscriptionRow(tr, sub) {
    tr.dataset.state = sub.state;
    tr.dataset.kind = sub.kind;
    tr.classList.toggle('faulted', sub.state === 'faulted');
    const state = tr.querySelector('.state');
    // Polled every second: rebuilt only when it changes (keeps focus, selection and screen readers calm).
    const signature = JSON.stringify([sub.state, sub.fault]);
    if (state.dataset.signature !== signature) {
      state.dataset.signature = signature;
      const parts = [el('span', `state-badge state-${sub.state}`, sub.state)];
      if (sub.fault) {
        const fault = el('div', 'fault');
        fault.append(el('span', 'fault-position', `at position ${sub.fault.position}: `), el('span', 'fault-error', sub.fault.error));
        parts.push(fault);
      }
      state.replaceChildren(...parts);
    }
    setText(tr.querySelector('.checkpoint'), sub.checkpoint);
    setText(tr.querySelector('.lag'), sub.lag);
    tr.querySelector('.lag').classList.toggle('behind', sub.lag > 0);
    setText(tr.querySelector('.processed'), sub.processed);
    const open = tr.querySelector('.open-instances');
    if (open) setText(open, sub.open_instances == null ? '?' : sub.open_instances);
    setText(tr.querySelector('.rate'), Number(sub.events_per_second).toFixed(1));
    const rebuild = tr.querySelector('.rebuild');
    if (rebuild) updateRebuild(rebuild, tr.querySelector('button.rebuild'), sub.rebuild);
    const pause = tr.querySelector('button.pause');
    const resume = tr.querySelector('button.resume');
    // A subscription this process does not run (another process owns it, or none does) is paused and
    // resumed where it runs; a rebuild is carried out from here all the same.
    const elsewhere = sub.state === 'standby';
    pause.disabled = elsewhere || sub.state === 'paused' || sub.state === 'stopped';
    resume.disabled = elsewhere || sub.state === 'running' || sub.state === 'starting';
    const why = elsewhere ? 'This process does not run it: pause or resume it in the process that does' : '';
    if (pause.title !== why) { pause.title = why; resume.title = why; }
  }

  /** A rebuild beside the live read model: a progress bar while it runs, then how it ended. */
  function updateRebuild(node, button, progress) {
    const running = !!progress && (progress.phase === 'building' || progress.phase === 'swapping');
    if (button) button.disabled = running;
    const signature = JSON.stringify(progress || null);
    if (node.dataset.signature === signature) return;
    node.dataset.signature = signature;
    node.dataset.phase = progress ? progress.phase : '';
    if (!progress) { node.replaceChildren(); return; }
    const counts = `${progress.done.toLocaleString()} / ${progress.total.toLocaleString()} events`;
    if (progress.phase === 'failed') {
      node.replaceChildren(el('span', 'rebuild-failed', `Rebuild failed (the live read model is unchanged): ${progress.error || ''}`));
    } else if (progress.phase === 'done') {
      node.replaceChildren(el('span', 'rebuild-done', `Rebuilt and swapped in: ${counts}`));
    } else {
      const bar = el('progress');
      bar.max = Math.max(1, progress.total);
      bar.value = Math.min(progress.done, bar.max);
      bar.setAttribute('aria-label', `Rebuild of ${progress.name}`);
      const rate = `${Math.round(progress.events_per_second).toLocaleString()}/s`;
      const left = progress.seconds_left == null ? '' : ` · ${Math.ceil(progress.seconds_left)} s left`;
      node.replaceChildren(bar, el('span', 'rebuild-text', `${progress.phase === 'swapping' ? 'Swapping in' : 'Rebuilding'}: ${counts} · ${rate}${left}`));
    }
  }

  function setText(node, value) {
    const text = String(value);
    if (node.textContent !== text) node.textContent = text;
  }

  function renderSubscriptions(list) {
    const existing = new Map([...els.subscriptions.rows].map((tr) => [tr.dataset.name, tr]));
    let cursor = els.subscriptions.firstElementChild;
    for (const sub of list) {
      const tr = existing.get(sub.name) || subscriptionRow(sub);
      updateSubscriptionRow(tr, sub);
      if (tr === cursor) cursor = cursor.nextElementSibling;
      else els.subscriptions.insertBefore(tr, cursor);
    }
    while (cursor) {
      const next = cursor.nextElementSibling;
      cursor.remove();
      cursor = next;
    }
  }

  let subscriptionsTimer = null;
  let subscriptionsBusy = false;

  async function pollSubscriptions() {
    clearTimeout(subscriptionsTimer);
    if (subscriptionsBusy) return;
    subscriptionsBusy = true;
    try {
      const answer = await api('GET', '/admin/api/subscriptions');
      setHead(answer.head);
      renderSubscriptions(answer.subscriptions || []);
      updateTimeTravel(answer.subscriptions || [], answer.head);
      clearError('subscriptions');
    } catch (e) {
      showError(`Could not read the subscriptions: ${e.message}`, 'subscriptions');
    } finally {
      subscriptionsBusy = false;
      subscriptionsTimer = setTimeout(pollSubscriptions, SUBSCRIPTIONS_EVERY);
    }
  }

  els.subscriptions.addEventListener('click', async (e) => {
    const button = e.target.closest('button[data-action]');
    if (!button) return;
    const name = button.closest('tr').dataset.name;
    const action = button.dataset.action;
    els.subscriptionMessage.textContent = '';
    if (action === 'instances') {
      showInstances(name);
      return;
    }
    try {
      const answer = await api('POST', `/admin/api/subscriptions/${enc(name)}/${action}`);
      const status = answer && answer.status ? answer.status : 'done';
      els.subscriptionMessage.textContent = `${button.textContent} ${name}: ${status}`;
      clearError('action');
    } catch (err) {
      showError(`${button.textContent} ${name} was refused: ${err.message}`, 'action');
    }
    pollSubscriptions();
  });

  /** Lists a process manager's open processes (state and pending commands) under the table. */
  async function showInstances(name) {
    let panel = document.getElementById('process-instances');
    if (!panel) {
      panel = el('section', 'process-instances');
      panel.id = 'process-instances';
      panel.setAttribute('aria-live', 'polite');
      els.subscriptions.closest('table').after(panel);
    }
    try {
      const answer = await api('GET', `/admin/api/subscriptions/${enc(name)}/instances`);
      const list = el('ul', 'instances');
      for (const instance of answer.instances) {
        const li = el('li', 'instance');
        li.dataset.process = instance.id;
        li.append(el('strong', 'instance-id', instance.id), ' ', el('code', 'instance-state', JSON.stringify(instance.state)));
        for (const pending of instance.pending) {
          const due = pending.due_at ? ` due ${pending.due_at}` : ' now';
          li.append(el('div', 'pending', `pending ${pending.type}${pending.deadline ? ` (deadline ${pending.deadline})` : ''}${due}`));
        }
        list.append(li);
      }
      panel.replaceChildren(el('h3', null, `${name}: ${answer.open} open`), list);
      clearError('action');
    } catch (err) {
      showError(`Could not read the processes of ${name}: ${err.message}`, 'action');
    }
  }

  // ---------------------------------------------------------------- the chart

  const COLORS = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d', '#dc2626'];

  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attributes || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** The smallest of 1, 2, 5 × 10^k at or above `v` (at least `floor`), for round axis tops. */
  function niceMax(v, floor) {
    const target = Math.max(v, floor);
    const power = Math.pow(10, Math.floor(Math.log10(target)));
    for (const step of [1, 2, 5, 10]) if (step * power >= target) return step * power;
    return 10 * power;
  }

  function formatNumber(v) {
    return v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
  }

  function clock(ms) {
    const d = new Date(ms);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  /**
   * Two panels over the same time axis: events per second (head difference between consecutive
   * samples over their interval) on top, each subscription's lag below.
   */
  function drawChart(history) {
    const W = 520, left = 46, right = 10, plotW = W - left - right;
    const panels = { rate: { top: 26, height: 100 }, lag: { top: 172, height: 100 } };
    const interval = Number(history.interval_seconds) || 2;
    const samples = (history.samples || [])
      .map((s) => ({ t: Date.parse(s.at), head: Number(s.head) || 0, lags: s.lags || {} }))
      .filter((s) => Number.isFinite(s.t));
    const nodes = [];
    nodes.push(svg('rect', { x: 0, y: 0, width: W, height: 300, fill: '#ffffff' }));

    if (samples.length < 2) {
      nodes.push(svg('text', { x: W / 2, y: 150, 'text-anchor': 'middle', class: 'chart-empty' }, 'Collecting samples…'));
      els.chart.replaceChildren(...nodes);
      els.chartSummary.textContent = 'Not enough samples yet.';
      els.chartLegend.replaceChildren();
      return;
    }

    const t0 = samples[0].t;
    const t1 = samples[samples.length - 1].t;
    const span = Math.max(t1 - t0, 1);
    const x = (t) => left + ((t - t0) / span) * plotW;

    const rates = [];
    for (let i = 1; i < samples.length; i++) {
      const seconds = (samples[i].t - samples[i - 1].t) / 1000 || interval;
      rates.push({ t: samples[i].t, v: Math.max(0, samples[i].head - samples[i - 1].head) / seconds });
    }
    const names = [...new Set(samples.flatMap((s) => Object.keys(s.lags)))].sort();
    const maxRate = niceMax(Math.max(...rates.map((r) => r.v)), 1);
    const maxLag = niceMax(Math.max(0, ...samples.flatMap((s) => Object.values(s.lags).map(Number))), 1);

    const axis = (panel, max, title) => {
      const { top, height } = panel;
      nodes.push(svg('text', { x: left, y: top - 10, class: 'chart-title' }, title));
      for (const fraction of [0, 0.5, 1]) {
        const y = top + height - fraction * height;
        nodes.push(svg('line', { x1: left, x2: W - right, y1: y, y2: y, class: fraction === 0 ? 'chart-axis' : 'chart-grid' }));
        nodes.push(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'chart-label' }, formatNumber(max * fraction)));
      }
      nodes.push(svg('text', { x: left, y: top + height + 16, class: 'chart-label' }, clock(t0)));
      nodes.push(svg('text', { x: W - right, y: top + height + 16, 'text-anchor': 'end', class: 'chart-label' }, `${clock(t1)} (now)`));
    };
    const yOf = (panel, max, v) => panel.top + panel.height - (Math.min(v, max) / max) * panel.height;
    const points = (list, panel, max) => list.map((p) => `${x(p.t).toFixed(1)},${yOf(panel, max, p.v).toFixed(1)}`).join(' ');

    // Event rate: a filled area under a line.
    axis(panels.rate, maxRate, 'Events per second');
    const ratePoints = points(rates, panels.rate, maxRate);
    const base = panels.rate.top + panels.rate.height;
    nodes.push(svg('polygon', {
      points: `${x(rates[0].t).toFixed(1)},${base} ${ratePoints} ${x(rates[rates.length - 1].t).toFixed(1)},${base}`,
      class: 'chart-rate-area',
    }));
    const rateLine = svg('polyline', { points: ratePoints, class: 'chart-rate' });
    rateLine.append(svg('title', {}, 'Events per second'));
    nodes.push(rateLine);

    // Lag: one line per subscription.
    axis(panels.lag, maxLag, 'Lag behind head (events)');
    const legend = [];
    names.forEach((name, i) => {
      const color = COLORS[i % COLORS.length];
      const series = samples.filter((s) => name in s.lags).map((s) => ({ t: s.t, v: Number(s.lags[name]) || 0 }));
      // Lines of equal lag would hide each other: offset each by half a pixel.
      const line = svg('polyline', {
        points: points(series, panels.lag, maxLag), class: 'chart-lag', stroke: color,
        transform: `translate(0 ${(-i * 0.8).toFixed(1)})`,
      });
      line.dataset.name = name;
      line.append(svg('title', {}, `Lag of ${name}`));
      nodes.push(line);
      const current = series.length ? series[series.length - 1].v : 0;
      const item = el('li');
      const swatch = el('span', 'swatch');
      swatch.style.background = color;
      item.append(swatch, el('span', null, name), el('span', 'muted', ` ${current}`));
      legend.push(item);
    });

    els.chart.replaceChildren(...nodes);
    els.chartLegend.replaceChildren(...legend);
    const now = rates[rates.length - 1].v;
    const peak = Math.max(...rates.map((r) => r.v));
    const worst = names.map((n) => [n, Number(samples[samples.length - 1].lags[n]) || 0]).sort((a, b) => b[1] - a[1])[0];
    const minutes = Math.max(1, Math.round(span / 60000));
    els.chartSummary.textContent = `Over the last ${span < 60000 ? Math.round(span / 1000) + ' s' : minutes + ' min'}: `
      + `${formatNumber(now)} events/s now, peak ${formatNumber(peak)}`
      + (worst ? `; largest lag ${worst[1]} (${worst[0]}).` : '.');
  }

  let historyTimer = null;
  async function pollHistory() {
    clearTimeout(historyTimer);
    try {
      drawChart(await api('GET', '/admin/api/history'));
      clearError('history');
    } catch (e) {
      showError(`Could not read the history: ${e.message}`, 'history');
    } finally {
      historyTimer = setTimeout(pollHistory, HISTORY_EVERY);
    }
  }

  // ---------------------------------------------------------------- start

  // ---------------------------------------------------------------- time travel

  const time = {
    model: byId('time-model'),
    slider: byId('time-slider'),
    position: byId('time-position'),
    now: byId('time-now'),
    note: byId('time-note'),
    tables: byId('time-tables'),
    following: true,   // the slider stays at the head until moved
    timer: null,
    token: 0,
  };

  /** Keeps the read-model list and the slider's range in step with the subscriptions and the head. */
  function updateTimeTravel(subscriptions, headPosition) {
    const names = subscriptions.filter((s) => s.kind === 'projection').map((s) => s.name);
    const current = [...time.model.options].map((o) => o.value);
    if (JSON.stringify(current) !== JSON.stringify(names)) {
      const chosen = time.model.value;
      time.model.replaceChildren(...names.map((n) => { const o = el('option', null, n); o.value = n; return o; }));
      if (names.includes(chosen)) time.model.value = chosen;
    }
    time.slider.max = String(headPosition);
    if (time.following) {
      time.slider.value = String(headPosition);
      time.position.textContent = String(headPosition);
    }
  }

  function scheduleTimeTravel() {
    clearTimeout(time.timer);
    time.timer = setTimeout(showTimeTravel, 250);
  }

  async function showTimeTravel() {
    const name = time.model.value;
    if (!name) return;
    const position = Number(time.slider.value);
    const token = ++time.token;
    time.note.textContent = `Building ${name} as of position ${position}…`;
    try {
      const answer = await api('GET', `/admin/api/read-models/${enc(name)}?as_of=${position}`);
      if (token !== time.token) return;
      time.note.textContent = `${name} as it was when the log ended at position ${answer.as_of} (head ${answer.head}).`;
      time.tables.replaceChildren(...answer.tables.map((t) => {
        const box = el('div', 'time-table');
        box.dataset.table = t.name;
        box.append(el('h3', null, `${t.name} — ${t.count} row${t.count === 1 ? '' : 's'}${t.count > t.rows.length ? ` (first ${t.rows.length})` : ''}`));
        const table = el('table');
        const headRow = el('tr');
        for (const c of t.columns) { const th = el('th', null, c); th.scope = 'col'; headRow.append(th); }
        const thead = el('thead');
        thead.append(headRow);
        const tbody = el('tbody');
        for (const row of t.rows) {
          const tr = el('tr');
          for (const v of row) tr.append(el('td', null, v === null ? '' : String(v)));
          tbody.append(tr);
        }
        table.append(thead, tbody);
        box.append(table);
        return box;
      }));
      clearError('time');
    } catch (e) {
      if (token !== time.token) return;
      time.note.textContent = '';
      showError(`Could not show ${name} as of ${position}: ${e.message}`, 'time');
    }
  }

  time.slider.addEventListener('input', () => {
    time.following = Number(time.slider.value) >= Number(time.slider.max);
    time.position.textContent = time.slider.value;
    scheduleTimeTravel();
  });
  time.model.addEventListener('change', showTimeTravel);
  time.now.addEventListener('click', () => {
    time.following = true;
    time.slider.value = time.slider.max;
    time.position.textContent = time.slider.value;
    showTimeTravel();
  });

  (async function start() {
    await pollSubscriptions();  // learns the head first, so the log starts at its last page
    await Promise.all([loadStreams(), loadLog(), pollHistory()]);
    connectLive();
    route();
    showTimeTravel();
    document.body.dataset.ready = 'true';  // for tests and tools: the first data is on screen
  })();
})();
