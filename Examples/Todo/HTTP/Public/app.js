// Chronicle's TodoMVC page.
//
// No todo state lives only in the browser: every action is a command to the JSON API, and the list is
// always rendered from the `todo_board` read model, re-read with `?after=<position>` so that the page
// sees its own writes. A server-sent event feed (`/events/live`) re-reads the board whenever a todo
// stream changes, so changes from another tab or the CLI show up at once.
//
// The only state kept here is view state: the current filter, the item being edited, which details
// forms are open, and the newest log position this page has heard of.
(function () {
  'use strict';

  const $ = (selector, root) => (root || document).querySelector(selector);

  const els = {
    newTodo: $('.new-todo'),
    moreToggle: $('.more-toggle'),
    more: $('#new-todo-more'),
    newDescription: $('#new-description'),
    newDueDate: $('#new-due-date'),
    newEmail: $('#new-stakeholder-email'),
    main: $('.main'),
    toggleAll: $('#toggle-all'),
    list: $('.todo-list'),
    footer: $('.footer'),
    count: $('.todo-count'),
    filters: $('.filters'),
    clearCompleted: $('.clear-completed'),
    error: $('.error'),
    errorText: $('.error-text'),
    errorDismiss: $('.error-dismiss'),
    liveStatus: $('.live-status'),
    template: $('#todo-item'),
  };

  /** The board as last read: `[{todo_id, title, description, due_date, stakeholder_email, completed, completed_on}]`. */
  let board = [];
  /** The newest global position this page knows of (from command answers and the live feed). */
  let knownPosition = 0;
  /** View state only. */
  const view = {
    editing: null,      // todo_id whose title is being edited inline
    open: new Set(),    // todo_ids whose details form is open
  };
  /** True while render() moves nodes around, so that a blur it causes does not save an edit. */
  let rendering = false;

  // ---------------------------------------------------------------- helpers

  function pad(n) { return String(n).padStart(2, '0'); }

  /** Today's local date as YYYY-MM-DD (what complete and abandon expect). */
  function today() {
    const d = new Date();
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  /** A random (v4) UUID; crypto.randomUUID exists only in secure contexts, hence the fallback. */
  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(bytes);
    else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function findTodo(id) { return board.find((t) => t.todo_id === id) || null; }

  function notePosition(position) {
    const p = Number(position);
    if (Number.isFinite(p) && p > knownPosition) knownPosition = p;
  }

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  /** Sends a request; answers the parsed JSON body or throws an ApiError carrying the server's reason. */
  async function api(method, path, body) {
    const init = { method, headers: { Accept: 'application/json' } };
    if (method !== 'GET') {
      // The server takes commands only as JSON (a guard against cross-site form posts).
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body === undefined ? {} : body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(`The server cannot be reached (${e.message})`, 0);
    }
    const text = await response.text();
    let payload = null;
    try { payload = text ? JSON.parse(text) : null; } catch (_) { /* not JSON: reported below if an error */ }
    if (!response.ok) {
      const reason = payload && typeof payload.error === 'string'
        ? payload.error
        : `${response.status} ${response.statusText || 'error'}`;
      throw new ApiError(reason, response.status);
    }
    return payload;
  }

  /** Sends one command; remembers the position it answers so the next board read includes it. */
  async function command(method, path, body) {
    const answer = await api(method, path, body === undefined ? {} : body);
    if (answer && answer.position !== undefined) notePosition(answer.position);
    return answer;
  }

  const todoPath = (id, action) => `/todo/${encodeURIComponent(id)}${action ? '/' + action : ''}`;

  // ---------------------------------------------------------------- errors

  /** Server reasons name todos by id (`Todo "<uuid>" is complete`); show their titles instead. */
  function humanize(message) {
    return String(message).replace(/"([0-9a-fA-F-]{36})"/g, (whole, id) => {
      const todo = findTodo(id.toLowerCase()) || findTodo(id);
      return todo && todo.title ? `"${todo.title}"` : whole;
    });
  }

  function showError(message) {
    els.errorText.textContent = humanize(message);
    els.error.hidden = false;
  }

  function hideError() {
    els.error.hidden = true;
    els.errorText.textContent = '';
  }

  /**
   * Runs one user action (one or more commands), shows every rejection, and re-reads the board
   * afterwards in any case: a rejection usually means this page's view was stale.
   */
  async function act(steps) {
    hideError();
    const failures = [];
    for (const step of [].concat(steps)) {
      try {
        await step();
      } catch (e) {
        failures.push(e.message || String(e));
      }
    }
    if (failures.length) showError(failures.join(' · '));
    await refresh(knownPosition);
    // Titles in messages are resolved against the board; resolve again with the fresh one.
    if (failures.length) showError(failures.join(' · '));
    return failures.length === 0;
  }

  // ---------------------------------------------------------------- reading the board

  let refreshing = null;      // the running refresh loop's promise
  let refreshWanted = false;  // another read was asked for while one ran
  let refreshAfter = 0;

  /**
   * Re-reads the board so that it includes at least position `after`. Reads never overlap, so an
   * older answer can never replace a newer one; requests made during a read are merged into one more.
   */
  function refresh(after) {
    refreshAfter = Math.max(refreshAfter, Number(after) || 0);
    refreshWanted = true;
    if (!refreshing) {
      refreshing = (async () => {
        while (refreshWanted) {
          refreshWanted = false;
          const position = refreshAfter;
          try {
            board = await readBoard(position);
            render();
          } catch (e) {
            showError(`Could not read the board: ${e.message}`);
          }
        }
        refreshing = null;
      })();
    }
    return refreshing;
  }

  async function readBoard(after) {
    try {
      return await api('GET', after > 0 ? `/todos/board?after=${after}` : '/todos/board');
    } catch (e) {
      // A position beyond the head (the server was reset under this page) is not worth an error.
      if (e.status === 400 && after > 0) {
        knownPosition = 0;
        refreshAfter = 0;
        return api('GET', '/todos/board');
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------- rendering

  function currentFilter() {
    const route = window.location.hash.replace(/^#\/?/, '');
    return route === 'active' || route === 'completed' ? route : 'all';
  }

  function visibleTodos() {
    const filter = currentFilter();
    if (filter === 'active') return board.filter((t) => !t.completed);
    if (filter === 'completed') return board.filter((t) => t.completed);
    return board;
  }

  function createItem(id) {
    const li = els.template.content.firstElementChild.cloneNode(true);
    li.dataset.id = id;
    return li;
  }

  /** The small line under the title: description, due date, stakeholder, completion date. */
  function renderMeta(meta, todo) {
    // Rebuilt only when it changes, so a live refresh leaves unchanged items alone.
    const signature = JSON.stringify([todo.description, todo.due_date, todo.stakeholder_email, todo.completed,
      todo.completed_on, today()]);
    if (meta.dataset.signature === signature) return;
    meta.dataset.signature = signature;
    meta.textContent = '';
    const parts = [
      ['description', todo.description, null],
      ['due-date', todo.due_date, 'Due '],
      ['stakeholder-email', todo.stakeholder_email, 'For '],
      ['completed-on', todo.completed ? todo.completed_on : null, 'Done '],
    ];
    for (const [cls, value, prefix] of parts) {
      if (value === null || value === undefined || value === '') continue;
      const span = document.createElement('span');
      span.className = cls;
      if (prefix) {
        const p = document.createElement('span');
        p.className = 'prefix';
        p.textContent = prefix;
        span.append(p);
      }
      const v = document.createElement('span');
      v.className = 'value';
      v.textContent = value;
      span.append(v);
      meta.append(span);
    }
    meta.classList.toggle('overdue', !!todo.due_date && !todo.completed && todo.due_date < today());
    meta.hidden = meta.childElementCount === 0;
  }

  /** Fills the details form from the board; only when it opens, so a live update never eats a draft. */
  function fillDetails(li, todo) {
    const form = $('.details', li);
    const baseline = {
      title: todo.title || '',
      description: todo.description || '',
      due_date: todo.due_date || '',
      stakeholder_email: todo.stakeholder_email || '',
    };
    form.elements.title.value = baseline.title;
    form.elements.description.value = baseline.description;
    form.elements.due_date.value = baseline.due_date;
    form.elements.stakeholder_email.value = baseline.stakeholder_email;
    form.baseline = baseline;
  }

  /** Whether an outstanding todo sits above `index` on the board (else "move up" has nowhere to go). */
  function hasOutstandingAbove(index) {
    for (let i = index - 1; i >= 0; i--) if (!board[i].completed) return true;
    return false;
  }

  function updateItem(li, todo) {
    const id = todo.todo_id;
    const title = todo.title || '';
    li.classList.toggle('completed', !!todo.completed);
    li.classList.toggle('editing', view.editing === id);

    const toggle = $('.toggle', li);
    toggle.checked = !!todo.completed;
    toggle.setAttribute('aria-label', todo.completed ? `Reopen “${title}”` : `Complete “${title}”`);

    const label = $('label', li);
    if (label.textContent !== title) label.textContent = title;
    label.title = todo.completed ? 'Reopen to edit' : 'Double-click to edit';
    renderMeta($('.meta', li), todo);

    const moveUp = $('.move-up', li);
    moveUp.hidden = !!todo.completed;
    moveUp.disabled = !hasOutstandingAbove(board.indexOf(todo));

    const detailsToggle = $('.details-toggle', li);
    const open = view.open.has(id);
    // Amending a completed todo is refused, so only outstanding ones offer the form; a form already
    // open stays open (with its draft) if the todo was completed meanwhile, and the server says why.
    detailsToggle.hidden = !!todo.completed && !open;
    detailsToggle.setAttribute('aria-expanded', String(open));
    detailsToggle.setAttribute('aria-label', open ? `Hide details of “${title}”` : `Details of “${title}”`);

    $('.destroy', li).setAttribute('aria-label', todo.completed ? `Clear “${title}”` : `Delete “${title}”`);
    $('.edit', li).setAttribute('aria-label', `Edit title of “${title}”`);

    const form = $('.details', li);
    if (open && form.hidden) fillDetails(li, todo);
    form.hidden = !open;
  }

  function render() {
    // Forget view state about todos that left the board (abandoned or cleared elsewhere).
    const ids = new Set(board.map((t) => t.todo_id));
    if (view.editing && !ids.has(view.editing)) view.editing = null;
    for (const id of [...view.open]) if (!ids.has(id)) view.open.delete(id);

    const focused = document.activeElement;
    const existing = new Map();
    for (const li of els.list.children) existing.set(li.dataset.id, li);

    rendering = true;
    try {
      // Keyed update: reuse each todo's <li> so inputs being typed into survive a live refresh, and
      // move a node only when it is out of place.
      let cursor = els.list.firstElementChild;
      for (const todo of visibleTodos()) {
        const li = existing.get(todo.todo_id) || createItem(todo.todo_id);
        updateItem(li, todo);
        if (li === cursor) cursor = cursor.nextElementSibling;
        else els.list.insertBefore(li, cursor);
      }
      while (cursor) {
        const next = cursor.nextElementSibling;
        cursor.remove();
        cursor = next;
      }
      if (focused && focused !== document.activeElement && document.contains(focused)) focused.focus();
    } finally {
      rendering = false;
    }
    if (view.editing && !els.list.querySelector(`li[data-id="${CSS.escape(view.editing)}"]`)) view.editing = null;

    const active = board.filter((t) => !t.completed).length;
    const completed = board.length - active;
    els.main.hidden = board.length === 0;
    els.footer.hidden = board.length === 0;
    els.toggleAll.checked = board.length > 0 && active === 0;
    els.toggleAll.setAttribute('aria-label', active === 0 ? 'Reopen all todos' : 'Complete all todos');
    const countText = `${active} ${active === 1 ? 'item' : 'items'} left`;
    if (els.count.textContent !== countText) {
      const strong = document.createElement('strong');
      strong.textContent = String(active);
      els.count.replaceChildren(strong, countText.slice(String(active).length));
    }
    els.clearCompleted.hidden = completed === 0;

    const route = `#/${currentFilter() === 'all' ? '' : currentFilter()}`;
    for (const a of els.filters.querySelectorAll('a')) {
      const selected = a.getAttribute('href') === route;
      a.classList.toggle('selected', selected);
      if (selected) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }

  // ---------------------------------------------------------------- actions

  function addTodo() {
    const title = els.newTodo.value.trim();
    if (!title) return;
    const body = { title };
    const description = els.newDescription.value.trim();
    const dueDate = els.newDueDate.value.trim();
    const email = els.newEmail.value.trim();
    if (description) body.description = description;
    if (dueDate) body.due_date = dueDate;
    if (email) body.stakeholder_email = email;
    act(async () => {
      await command('POST', todoPath(newId()), body);
      // Cleared once accepted (before the board re-read); a refused add keeps what was typed.
      for (const input of [els.newTodo, els.newDescription, els.newDueDate, els.newEmail]) input.value = '';
    });
  }

  function toggleTodo(id, complete) {
    act(() => complete
      ? command('POST', todoPath(id, 'complete'), { completed_on: today() })
      : command('POST', todoPath(id, 'reopen')));
  }

  function destroyTodo(id) {
    const todo = findTodo(id);
    // An outstanding todo is abandoned; a completed one is cleared from the board.
    act(() => todo && todo.completed
      ? command('POST', todoPath(id, 'clear'))
      : command('POST', todoPath(id, 'abandon'), { abandoned_on: today() }));
  }

  function toggleAll(complete) {
    const targets = board.filter((t) => !!t.completed !== complete).map((t) => t.todo_id);
    act(targets.map((id) => () => complete
      ? command('POST', todoPath(id, 'complete'), { completed_on: today() })
      : command('POST', todoPath(id, 'reopen'))));
  }

  function clearCompleted() {
    const targets = board.filter((t) => t.completed).map((t) => t.todo_id);
    act(targets.map((id) => () => command('POST', todoPath(id, 'clear'))));
  }

  function startEdit(li) {
    const todo = findTodo(li.dataset.id);
    if (!todo || todo.completed) return;
    view.editing = todo.todo_id;
    li.classList.add('editing');
    const input = $('.edit', li);
    input.value = todo.title || '';
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  /**
   * Ends the inline edit of `li`: saves (amend, or abandon when emptied) or cancels. `byKey` (Enter,
   * Escape) moves focus back to the item; after a blur, focus is wherever the user put it.
   */
  function finishEdit(li, save, byKey) {
    const id = li.dataset.id;
    if (view.editing !== id) return;  // already finished (Enter, then the blur it causes)
    view.editing = null;
    li.classList.remove('editing');
    const title = $('.edit', li).value.trim();
    const todo = findTodo(id);
    if (save) {
      if (!title) act(() => command('POST', todoPath(id, 'abandon'), { abandoned_on: today() }));
      else if (!todo || title !== todo.title) act(() => command('PUT', todoPath(id), { title }));
    }
    if (byKey) $('.toggle', li).focus();
  }

  function toggleDetails(li) {
    const id = li.dataset.id;
    if (view.open.has(id)) view.open.delete(id);
    else view.open.add(id);
    const todo = findTodo(id);
    if (todo) updateItem(li, todo);
    if (view.open.has(id)) $('.details-title', li).focus();
  }

  /** Sends an amend with only the fields changed since the form opened ('' clears a field). */
  function saveDetails(li) {
    const id = li.dataset.id;
    const form = $('.details', li);
    const baseline = form.baseline || {};
    const amendment = {};
    for (const key of ['title', 'description', 'due_date', 'stakeholder_email']) {
      const value = form.elements[key].value.trim();
      if (value === (baseline[key] || '')) continue;
      amendment[key] = value === '' && key !== 'title' ? null : value;
    }
    if (Object.keys(amendment).length === 0) {
      closeDetails(li);
      return;
    }
    act(() => command('PUT', todoPath(id), amendment)).then((ok) => { if (ok) closeDetails(li); });
  }

  function closeDetails(li) {
    view.open.delete(li.dataset.id);
    const todo = findTodo(li.dataset.id);
    if (todo) updateItem(li, todo);
    else $('.details', li).hidden = true;
    $('.details-toggle', li).focus();
  }

  // ---------------------------------------------------------------- wiring

  els.newTodo.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.isComposing) addTodo();
  });
  for (const input of [els.newDescription, els.newDueDate, els.newEmail]) {
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.isComposing) addTodo();
    });
  }
  els.moreToggle.addEventListener('click', () => {
    const open = els.more.hidden;
    els.more.hidden = !open;
    els.moreToggle.setAttribute('aria-expanded', String(open));
    els.moreToggle.textContent = open ? 'Less' : 'More';
    if (open) els.newDescription.focus();
  });

  els.toggleAll.addEventListener('change', () => toggleAll(els.toggleAll.checked));
  els.clearCompleted.addEventListener('click', clearCompleted);
  els.errorDismiss.addEventListener('click', () => { hideError(); els.newTodo.focus(); });

  const itemOf = (target) => target.closest('li[data-id]');

  els.list.addEventListener('change', (e) => {
    if (e.target.matches('.toggle')) toggleTodo(itemOf(e.target).dataset.id, e.target.checked);
  });
  els.list.addEventListener('click', (e) => {
    const button = e.target.closest('button');
    if (!button) return;
    const li = itemOf(button);
    if (button.matches('.destroy')) destroyTodo(li.dataset.id);
    else if (button.matches('.move-up')) act(() => command('PUT', todoPath(li.dataset.id, 'moveup')));
    else if (button.matches('.details-toggle')) toggleDetails(li);
    else if (button.matches('.details-cancel')) closeDetails(li);
  });
  els.list.addEventListener('dblclick', (e) => {
    if (e.target.matches('.view label')) startEdit(itemOf(e.target));
  });
  els.list.addEventListener('keydown', (e) => {
    if (e.target.matches('.edit')) {
      if (e.key === 'Enter' && !e.isComposing) finishEdit(itemOf(e.target), true, true);
      else if (e.key === 'Escape') finishEdit(itemOf(e.target), false, true);
    } else if (e.key === 'Escape' && e.target.closest('.details')) {
      closeDetails(itemOf(e.target));
    }
  });
  els.list.addEventListener('focusout', (e) => {
    if (rendering || !e.target.matches('.edit')) return;
    finishEdit(itemOf(e.target), true, false);
  });
  els.list.addEventListener('submit', (e) => {
    e.preventDefault();
    saveDetails(itemOf(e.target));
  });

  window.addEventListener('hashchange', render);

  // ---------------------------------------------------------------- live updates

  let liveTimer = null;
  let liveAfter = 0;

  /** Debounced: a burst of events (toggle all, a replay) becomes one board read. */
  function scheduleRefresh(position) {
    liveAfter = Math.max(liveAfter, position || 0);
    if (liveTimer) return;
    liveTimer = setTimeout(() => {
      liveTimer = null;
      refresh(liveAfter);
    }, 60);
  }

  // The shared live feed (/chronicle/live.js), from the position on screen: never the whole log.
  // Anything missed while disconnected is on the board after the refresh of each (re)connection.
  function connectLive() {
    ChronicleLive.follow({
      categories: ['todo'],
      after: () => knownPosition,
      onOpen: () => refresh(knownPosition),
      onPosition: notePosition,
      onEvent: (_, position) => scheduleRefresh(position),
      onStatus: (text) => { els.liveStatus.textContent = text; },
    });
  }

  (async function start() {
    // The head (public, GET /events/head), so that the live feed starts exactly where the board read is.
    notePosition(await ChronicleLive.head());
    await refresh(knownPosition);
    document.body.dataset.ready = 'true';  // for tests and tools: the first board is on screen
    connectLive();
  })();
})();
