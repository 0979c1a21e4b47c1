// The review page: draws each task's proposed objects over its image, in image pixels, and sends the
// reviewer's decisions. Plain JS, no dependencies; every URL is relative to the run's page.
'use strict';

(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const body = document.body;
  const pageSize = Number(body.dataset.pageSize) || 60;
  const state = { offset: 0, total: 0, classes: {}, tasks: [], threshold: 0, classFilter: '', decisionFilter: '' };
  const $ = (id) => document.getElementById(id);
  const grid = $('grid');

  async function api(path, payload) {
    const options = payload === undefined ? {} : {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload),
    };
    const response = await fetch(path, { credentials: 'same-origin', ...options });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = typeof data.detail === 'string' ? data.detail : JSON.stringify(data.detail || data);
      throw new Error(`${response.status}: ${detail}`);
    }
    return data;
  }

  function say(text, isError) {
    const status = $('status');
    status.textContent = text;
    status.classList.toggle('error', Boolean(isError));
  }

  function showCounts(counts) {
    for (const cell of document.querySelectorAll('[data-count]')) {
      const value = counts[cell.dataset.count];
      cell.textContent = value === undefined ? '-' : String(value);
    }
    const commit = $('commit');
    if (counts.committing) {
      commit.textContent = `Committing ${counts.committing[0]} / ${counts.committing[1]}`;
    } else if (!commit.dataset.busy) {
      commit.textContent = `Commit ${counts.approved} approved`;
    }
  }

  // ---------------------------------------------------------------- drawing
  function shapeNode(obj, colour, current) {
    let node;
    if (obj.shape === 'rect') {
      node = document.createElementNS(SVG, 'rect');
      const [x, y, width, height] = obj.rect;
      node.setAttribute('x', String(x));
      node.setAttribute('y', String(y));
      node.setAttribute('width', String(width));
      node.setAttribute('height', String(height));
    } else if (obj.shape === 'polygon' || obj.shape === 'polyline') {
      node = document.createElementNS(SVG, obj.shape);
      node.setAttribute('points', obj.points.map((p) => `${p[0]},${p[1]}`).join(' '));
    } else if (obj.shape === 'point') {
      node = document.createElementNS(SVG, 'circle');
      node.setAttribute('cx', String(obj.points[0][0]));
      node.setAttribute('cy', String(obj.points[0][1]));
      node.setAttribute('r', '4');
      node.classList.add('point');
      node.setAttribute('fill', current ? '#ffffff' : colour);
    } else {
      return null;
    }
    node.classList.add('object', current ? 'current' : 'proposed');
    node.setAttribute('stroke', current ? '#ffffff' : colour);
    node.setAttribute('vector-effect', 'non-scaling-stroke');
    node.dataset.objectId = obj.id;
    node.dataset.label = obj.label;
    node.dataset.confidence = obj.confidence === null ? '' : String(obj.confidence);
    const title = document.createElementNS(SVG, 'title');
    const score = obj.confidence === null ? 'unscored' : `confidence ${obj.confidence.toFixed(2)}`;
    title.textContent = `${obj.label} (${score})${current ? ', current' : ''}`;
    node.appendChild(title);
    return node;
  }

  function extent(task) {
    let width = 1;
    let height = 1;
    for (const obj of task.proposed.concat(task.current)) {
      const points = obj.rect ? [[obj.rect[0] + obj.rect[2], obj.rect[1] + obj.rect[3]]] : obj.points || [];
      for (const [x, y] of points) {
        width = Math.max(width, x);
        height = Math.max(height, y);
      }
    }
    return [Math.ceil(width * 1.05), Math.ceil(height * 1.05)];
  }

  function primaryImage(task) {
    const first = task.proposed.concat(task.current).find((o) => o.image);
    return first ? first.image : null;
  }

  function summaryText(task) {
    const s = task.summary || {};
    const parts = [`${task.proposed.length} objects`];
    if (s.added) parts.push(`+${s.added}`);
    if (s.removed) parts.push(`\u2212${s.removed}`);
    if (s.changed) parts.push(`~${s.changed}`);
    if (task.written) parts.push('written');
    if (task.conflict) parts.push(`conflict: ${task.conflict}`);
    return parts.join(' \u00b7 ');
  }

  function card(task) {
    const article = document.createElement('article');
    article.className = 'task';
    article.tabIndex = 0;
    article.dataset.taskId = String(task.task_id);
    const frame = document.createElement('div');
    frame.className = 'frame';
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'overlay');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('aria-hidden', 'true');
    const onImage = primaryImage(task);
    for (const [list, current] of [[task.current, true], [task.proposed, false]]) {
      const group = document.createElementNS(SVG, 'g');
      group.setAttribute('class', current ? 'layer-current' : 'layer-proposed');
      for (const obj of list) {
        if (onImage !== null && obj.image !== onImage) continue;  // objects of other images of the task
        const node = shapeNode(obj, state.classes[obj.label] || '#ffffff', current);
        if (node) group.appendChild(node);
      }
      svg.appendChild(group);
    }
    if (task.image_url) {
      const img = document.createElement('img');
      img.alt = task.image_name || `task ${task.task_id}`;
      img.loading = 'lazy';
      img.decoding = 'async';
      img.addEventListener('load', () => {
        svg.setAttribute('viewBox', `0 0 ${img.naturalWidth} ${img.naturalHeight}`);
        const radius = String(Math.max(2, img.naturalWidth / 150));
        for (const dot of svg.querySelectorAll('circle')) dot.setAttribute('r', radius);
        frame.classList.add('loaded');
      });
      img.addEventListener('error', () => missing(frame, svg, task, 'image unavailable'));
      img.src = task.image_url;
      frame.appendChild(img);
    } else {
      missing(frame, svg, task, 'no image');
    }
    frame.appendChild(svg);
    const caption = document.createElement('p');
    caption.className = 'caption';
    const name = document.createElement('span');
    name.textContent = `Task ${task.task_id}${task.image_name ? ' \u00b7 ' + task.image_name : ''}`;
    const badge = document.createElement('span');
    badge.className = 'badge';
    const details = document.createElement('span');
    details.className = 'details';
    details.textContent = summaryText(task);
    caption.append(name, ' ', badge, ' ', details);
    const actions = document.createElement('div');
    actions.className = 'actions';
    for (const [decision, label] of [['approved', 'Approve'], ['rejected', 'Reject']]) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = decision === 'approved' ? 'approve' : 'reject';
      button.textContent = label;
      button.addEventListener('click', () => decide([task.task_id], decision));
      actions.appendChild(button);
    }
    article.append(frame, caption, actions);
    setDecision(article, task.decision);
    return article;
  }

  function missing(frame, svg, task, text) {
    const [width, height] = extent(task);
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    frame.classList.add('missing');
    const note = document.createElement('span');
    note.className = 'missing-note';
    note.textContent = text;
    frame.appendChild(note);
  }

  function setDecision(article, decision) {
    article.dataset.decision = decision;
    article.querySelector('.badge').textContent = decision;
    article.setAttribute('aria-label', `Task ${article.dataset.taskId}, ${decision}`);
    for (const button of article.querySelectorAll('.actions button')) {
      const mine = (button.className === 'approve') === (decision === 'approved');
      button.setAttribute('aria-pressed', String(decision !== 'pending' && mine));
    }
  }

  // ---------------------------------------------------------------- filters
  function applyFilters() {
    for (const article of grid.children) {
      let ofClass = false;
      for (const node of article.querySelectorAll('.object')) {
        const score = node.dataset.confidence === '' ? null : Number(node.dataset.confidence);
        const classOk = state.classFilter === '' || node.dataset.label === state.classFilter;
        const scoreOk = score === null || score >= state.threshold;
        node.classList.toggle('hidden', !(classOk && scoreOk));
        if (classOk && node.classList.contains('proposed')) ofClass = true;
      }
      const decisionOk = state.decisionFilter === '' || article.dataset.decision === state.decisionFilter;
      article.hidden = !decisionOk || (state.classFilter !== '' && !ofClass);
    }
  }

  function shownIds() {
    return Array.from(grid.children).filter((a) => !a.hidden).map((a) => Number(a.dataset.taskId));
  }

  function legend() {
    const list = $('legend');
    const select = $('class-filter');
    list.replaceChildren();
    const chosen = select.value;
    select.replaceChildren(new Option('All classes', ''));
    const onPage = {};
    for (const task of state.tasks) for (const obj of task.proposed) onPage[obj.label] = (onPage[obj.label] || 0) + 1;
    for (const [label, colour] of Object.entries(state.classes)) {
      const item = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.backgroundColor = colour;
      item.append(swatch, ` ${label} (${onPage[label] || 0} on this page)`);
      list.appendChild(item);
      select.appendChild(new Option(label, label));
    }
    select.value = chosen in state.classes ? chosen : '';
    state.classFilter = select.value;
  }

  // ---------------------------------------------------------------- actions
  async function load() {
    try {
      const page = await api(`api/tasks?offset=${state.offset}&limit=${pageSize}`);
      state.total = page.total;
      state.classes = page.classes;
      state.tasks = page.tasks;
      legend();
      grid.replaceChildren(...page.tasks.map(card));
      applyFilters();
      showCounts(page.counts);
      const last = Math.min(page.total, state.offset + page.tasks.length);
      $('page-info').textContent = page.total ? `Tasks ${state.offset + 1}\u2013${last} of ${page.total}` : 'No tasks';
      $('prev').disabled = state.offset === 0;
      $('next').disabled = last >= page.total;
      grid.setAttribute('aria-busy', 'false');
    } catch (error) {
      say(`Could not load the tasks: ${error.message}`, true);
    }
  }

  async function decide(ids, decision) {
    if (!ids.length) {
      say('No task is shown: nothing to change');
      return;
    }
    try {
      const reply = await api('api/decisions', { task_ids: ids, decision });
      for (const id of ids) {
        const article = grid.querySelector(`[data-task-id="${id}"]`);
        if (article) setDecision(article, decision);
      }
      showCounts(reply.counts);
      say(`${ids.length === 1 ? `Task ${ids[0]}` : `${ids.length} tasks`}: ${decision}`);
      applyFilters();
    } catch (error) {
      say(`Could not save the decision: ${error.message}`, true);
    }
  }

  function reportView(report) {
    const section = $('report');
    section.replaceChildren();
    const title = document.createElement('h2');
    title.textContent = 'Commit report';
    const list = document.createElement('dl');
    for (const [key, value] of Object.entries(report)) {
      const term = document.createElement('dt');
      term.textContent = key;
      const cell = document.createElement('dd');
      cell.dataset.field = key;
      if (Array.isArray(value)) {
        cell.textContent = String(value.length);
        const items = document.createElement('ul');
        for (const item of value) {
          const entry = document.createElement('li');
          entry.textContent = `Task ${item.task_id}: ${item.reason || item.error || ''}`;
          items.appendChild(entry);
        }
        if (value.length) cell.appendChild(items);
      } else {
        cell.textContent = String(value);
      }
      list.append(term, cell);
    }
    section.append(title, list);
    section.hidden = false;
  }

  async function commit() {
    const button = $('commit');
    button.disabled = true;
    button.dataset.busy = '1';
    button.textContent = 'Committing\u2026';
    say('Committing the approved tasks\u2026');
    try {
      const reply = await api('api/commit', { approved_only: true });
      reportView(reply.report);
      say(`Commit finished: ${reply.report.written} written`);
      delete button.dataset.busy;
      showCounts(reply.counts);
      await load();
    } catch (error) {
      say(`Commit failed: ${error.message}`, true);
    } finally {
      delete button.dataset.busy;
      button.disabled = body.dataset.dryRun !== 'true';
    }
  }

  // ---------------------------------------------------------------- keyboard
  function focusedTask() {
    return document.activeElement ? document.activeElement.closest('.task') : null;
  }

  function move(step) {
    const shown = Array.from(grid.children).filter((a) => !a.hidden);
    if (!shown.length) return;
    const index = shown.indexOf(focusedTask());
    const next = index < 0 ? (step > 0 ? 0 : shown.length - 1) : Math.min(shown.length - 1, Math.max(0, index + step));
    shown[next].focus();
    shown[next].scrollIntoView({ block: 'nearest' });
  }

  async function decideFocused(decision, advance) {
    const article = focusedTask();
    if (!article) {
      say('Move to a task first (j or the arrow keys)');
      return;
    }
    await decide([Number(article.dataset.taskId)], decision);
    if (advance) move(1);
  }

  const KEYS = {
    j: () => move(1), ArrowDown: () => move(1), ArrowRight: () => move(1),
    k: () => move(-1), ArrowUp: () => move(-1), ArrowLeft: () => move(-1),
    a: () => decideFocused('approved', true),
    r: () => decideFocused('rejected', true),
    p: () => decideFocused('pending', false),
    c: () => { $('show-current').click(); },
    '?': () => $('help').showModal(),
  };

  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || $('help').open) return;
    const tag = event.target.tagName;
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') return;
    const action = KEYS[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });

  // ---------------------------------------------------------------- wiring
  $('confidence').addEventListener('input', (event) => {
    state.threshold = Number(event.target.value);
    $('confidence-value').textContent = state.threshold.toFixed(2);
    applyFilters();
  });
  $('class-filter').addEventListener('change', (event) => { state.classFilter = event.target.value; applyFilters(); });
  $('decision-filter').addEventListener('change', (event) => { state.decisionFilter = event.target.value; applyFilters(); });
  $('show-current').addEventListener('change', (event) => body.classList.toggle('show-current', event.target.checked));
  $('approve-shown').addEventListener('click', () => decide(shownIds(), 'approved'));
  $('reject-shown').addEventListener('click', () => decide(shownIds(), 'rejected'));
  $('commit').addEventListener('click', commit);
  $('help-button').addEventListener('click', () => $('help').showModal());
  $('help-close').addEventListener('click', () => $('help').close());
  $('prev').addEventListener('click', () => { state.offset = Math.max(0, state.offset - pageSize); load(); });
  $('next').addEventListener('click', () => { state.offset += pageSize; load(); });

  grid.setAttribute('aria-busy', 'true');
  load();
  setInterval(async () => {
    try {
      showCounts(await api('api/counts'));
    } catch (error) {
      say(`Lost the server: ${error.message}`, true);
    }
  }, 2000);
})();
