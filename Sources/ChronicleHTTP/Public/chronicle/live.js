// Chronicle's live feed for pages, served by ChronicleHTTP at /chronicle/live.js for every page (the
// applications' and the admin console's): follows the server-sent events of /events/live from a known
// position, or from the server's head — a page load never replays the log — and says whether it is live.
window.ChronicleLive = (function () {
  'use strict';

  // A live event's category: the event names it (a server with an admin credential sends anonymous
  // pages only position, type and category), or its stream's name begins with it.
  function categoryOf(event) {
    if (typeof event.category === 'string') return event.category;
    return typeof event.stream === 'string' ? event.stream.split('-')[0] : '';
  }

  // The log's head position (GET /events/head, which anyone may read); 0 when it cannot be read, and
  // the feed then starts at the server's head.
  async function head() {
    try {
      const response = await fetch('/events/head', { headers: { Accept: 'application/json' } });
      if (!response.ok) return 0;
      const body = await response.json();
      return Number(body && body.position) || 0;
    } catch (_) {
      return 0;
    }
  }

  /**
   * Follows the feed. Options:
   * - url: the feed (default /events/live; the admin console uses /admin/api/events/live);
   * - after(): the position the page has shown up to (0: start at the server's head), read at each
   *   (re)connection;
   * - categories: the categories whose events onEvent hears (all when absent);
   * - onEvent(event, position), onPosition(position) for every event, onOpen() at each (re)connection,
   *   onStatus(text, live).
   * EventSource reconnects by itself and resumes with Last-Event-ID; a source the server closed (an
   * error answer) is opened again after 3 s.
   */
  function follow(options) {
    const status = (text, live) => { if (options.onStatus) options.onStatus(text, live); };
    if (!('EventSource' in window)) {
      status('No live feed in this browser', false);
      return;
    }
    const url = options.url || '/events/live';
    function connect() {
      const after = options.after ? Number(options.after()) || 0 : 0;
      const source = new EventSource(`${url}?after=${after > 0 ? after : 'head'}`);
      source.onopen = () => {
        status('Live', true);
        if (options.onOpen) options.onOpen();
      };
      source.onmessage = (message) => {
        let event;
        try { event = JSON.parse(message.data); } catch (_) { return; }
        const position = Number(message.lastEventId) || Number(event.position) || 0;
        if (options.onPosition) options.onPosition(position);
        if (!options.categories || options.categories.includes(categoryOf(event))) {
          if (options.onEvent) options.onEvent(event, position);
        }
      };
      source.onerror = () => {
        status('Reconnecting…', false);
        if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
      };
    }
    connect();
  }

  return { follow, head, categoryOf };
})();
