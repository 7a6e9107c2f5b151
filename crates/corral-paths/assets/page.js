// The picture of attack paths: reads the data corral wrote into the page,
// lays it out with dagre (ranks from left to right), draws it with
// cytoscape, and answers clicks, search and filters. Every text from the
// data reaches the page through textContent or cytoscape's canvas, never
// as markup.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('corral-data').textContent);
  var texts = data.texts;
  var kinds = data.kinds;
  var vertices = data.vertices; // [label, style, namespace, group]
  var groups = data.groups; // {label, style, namespace, members}
  var edges = data.edges; // [from, to, kind, file, line, field, detail, fix, group edge]
  var groupEdges = data.group_edges; // [from group, to group, kind, members]
  var paths = data.paths; // [source, target, counted hops, [edges]]
  var PAGE = 100; // paths shown at once in the details

  var COLORS = {
    'container': '#3b82f6', 'pod': '#60a5fa', 'node': '#b91c1c', 'service-account': '#8b5cf6',
    'user': '#a855f7', 'group': '#c084fc', 'permissions': '#f59e0b', 'cluster-admin': '#dc2626',
    'volume': '#14b8a6', 'endpoint': '#0ea5e9', 'scope': '#64748b', 'token': '#84cc16',
    'cloud-identity': '#f97316', 'cloud-admin': '#991b1b'
  };
  var SHAPES = {
    'container': 'round-rectangle', 'pod': 'round-rectangle', 'node': 'hexagon',
    'service-account': 'ellipse', 'user': 'ellipse', 'group': 'ellipse', 'permissions': 'rectangle',
    'cluster-admin': 'round-hexagon', 'volume': 'barrel', 'endpoint': 'round-tag', 'scope': 'octagon',
    'token': 'cut-rectangle', 'cloud-identity': 'round-octagon', 'cloud-admin': 'round-hexagon'
  };
  var LEGEND = [
    ['container', 'container'], ['pod', 'pod or workload'], ['node', 'node'],
    ['service-account', 'service account'], ['user', 'user'], ['group', 'group'],
    ['permissions', 'permissions'], ['cluster-admin', 'cluster-admin'], ['volume', 'volume'],
    ['endpoint', 'endpoint'], ['scope', 'any of a kind'], ['token', 'cloud token'],
    ['cloud-identity', 'cloud identity'], ['cloud-admin', 'cloud admin']
  ];

  // Control characters and bidirectional overrides shown as escapes: a
  // name cannot hide itself or reorder the text around it.
  function visible(text) {
    return String(text).replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, function (c) {
      return '\\u{' + c.codePointAt(0).toString(16) + '}';
    });
  }
  function short(text, n) {
    text = visible(text);
    return text.length > n ? text.slice(0, n - 1) + '\u2026' : text;
  }
  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = visible(text);
    return e;
  }
  function number(n) { return n.toLocaleString('en-US'); }
  function sourceKind(style) {
    if (style === 'endpoint') return 'endpoint';
    if (style === 'container' || style === 'pod') return 'container';
    return 'identity';
  }
  function targetClass(style) {
    if (style === 'node') return 'node';
    if (style === 'cloud-admin') return 'cloud-admin';
    if (style === 'cluster-admin') return 'cluster-admin';
    return 'other';
  }
  function place(edge) {
    if (edge[3] === null) return null;
    var at = texts[edge[3]];
    if (edge[4] !== null) at += ':' + edge[4];
    if (edge[5] !== null) at += ' ' + texts[edge[5]];
    return at;
  }

  // Which paths pass through each group and group edge.
  var byGroup = groups.map(function () { return []; });
  var byGroupEdge = groupEdges.map(function () { return []; });
  paths.forEach(function (path, p) {
    var seen = Object.create(null);
    var seenEdge = Object.create(null);
    path[3].forEach(function (e) {
      var edge = edges[e];
      [vertices[edge[0]][3], vertices[edge[1]][3]].forEach(function (g) {
        if (!seen[g]) { seen[g] = true; byGroup[g].push(p); }
      });
      if (!seenEdge[edge[8]]) { seenEdge[edge[8]] = true; byGroupEdge[edge[8]].push(p); }
    });
  });
  var shown = paths.map(function () { return true; });

  // The header and the summary.
  var q = data.query;
  var names = q.inputs.map(function (i) { return i.split('/').pop() || i; });
  var query = document.getElementById('query');
  var eachClass = q.to === 'any-critical' && (q.from === 'all-pods' || q.from === 'exposed');
  query.textContent = short('from ' + q.from + ' to ' + q.to +
    (eachClass ? ' (each source\'s shortest path to each class of target)' : '') +
    ', at most ' + q.max_hops + ' hops, in ' +
    names.slice(0, 3).join(', ') + (names.length > 3 ? ' and ' + (names.length - 3) + ' more' : ''), 400);
  query.title = q.inputs.map(visible).join('\n');
  var classNames = { 'cluster-admin': 'cluster-admin', 'node': 'nodes', 'cloud-admin': 'cloud admins', 'other': 'other targets' };
  var classes = document.getElementById('target-classes');
  data.summary.targets.forEach(function (t) {
    var li = el('li');
    li.dataset.targetClass = t.class;
    li.appendChild(el('span', 'count', number(t.sources)));
    li.appendChild(document.createTextNode((t.sources === 1 ? ' source reaches ' : ' sources reach ') + classNames[t.class]));
    classes.appendChild(li);
  });
  var cutsNote = document.getElementById('cuts-note');
  if (data.summary.cuts.length) {
    cutsNote.textContent = 'Of the ' + number(data.summary.cut_paths_before) + ' shortest path(s) from each source to its nearest target, ' +
      data.summary.cuts.length + ' change(s) leave ' + number(data.summary.cut_paths_left) +
      '; each is on the most paths left when it is made (as corral paths --cut).';
  } else {
    cutsNote.textContent = 'No path to cut.';
  }
  var cutList = document.getElementById('cuts');
  data.summary.cuts.forEach(function (c) {
    var li = el('li', 'cut');
    li.appendChild(el('span', 'on', 'on ' + number(c.on_paths) + ' of ' + number(c.paths_left) + ' path(s): '));
    li.appendChild(el('span', 'hop-text', short(c.from, 160) + ' \u2192 ' + c.edge + ' \u2192 ' + short(c.to, 160)));
    li.appendChild(el('span', 'fix', 'fix: ' + c.fix));
    if (c.evidence) li.appendChild(el('span', 'evidence', short(c.evidence, 300)));
    li.title = short(c.detail, 1000);
    li.addEventListener('click', function () { selectCut(c); });
    cutList.appendChild(li);
  });
  var legend = document.getElementById('legend');
  LEGEND.forEach(function (l) {
    var li = el('li');
    var swatch = el('span', 'swatch');
    swatch.style.background = COLORS[l[0]];
    li.appendChild(swatch);
    li.appendChild(document.createTextNode(l[1]));
    legend.appendChild(li);
  });
  var namespaces = Object.create(null);
  paths.forEach(function (p) {
    var ns = vertices[p[0]][2];
    if (ns !== null) namespaces[ns] = true;
  });
  var select = document.getElementById('namespace');
  Object.keys(namespaces).sort().forEach(function (ns) {
    var option = el('option', null, ns);
    option.value = ns;
    select.appendChild(option);
  });

  // Layout: dagre ranks the groups from sources (left) to targets (right).
  var layout = new dagre.graphlib.Graph({ multigraph: true });
  layout.setGraph({ rankdir: 'LR', nodesep: 12, ranksep: 150, edgesep: 6,
    ranker: groups.length > 1500 ? 'longest-path' : 'network-simplex' });
  layout.setDefaultEdgeLabel(function () { return {}; });
  // What a vertex shows: a group its count, a vertex its name without
  // the kind its shape shows, broken after / or : into at most two lines.
  function caption(g) {
    var text = visible(g.label);
    if (g.members < 2) {
      var cloud = /^(aws|gcp|azure)\/.*[:\/]([^:\/]+\/[^:\/]+)$/.exec(text);
      text = cloud ? cloud[1] + ' ' + cloud[2] : text.slice(text.indexOf('/') + 1) || text;
    }
    var lines = [];
    var rest = text;
    while (rest.length > 0 && lines.length < 2) {
      if (rest.length <= LINE) { lines.push(rest); rest = ''; break; }
      var cut = Math.max(rest.lastIndexOf('/', LINE), rest.lastIndexOf(':', LINE), rest.lastIndexOf(' ', LINE));
      if (cut < LINE / 2) cut = LINE - 1;
      lines.push(rest.slice(0, cut + 1).trim());
      rest = rest.slice(cut + 1);
    }
    if (rest.length > 0) lines[1] = lines[1].slice(0, LINE - 1) + '\u2026';
    return lines.join('\n');
  }
  var LINE = 24;
  function size(g) {
    var lines = caption(g).split('\n');
    var longest = Math.max.apply(null, lines.map(function (l) { return l.length; }));
    return { width: 18 + 7 * longest, height: 14 + 15 * lines.length + (g.members > 1 ? 6 : 0) };
  }
  groups.forEach(function (g, i) { layout.setNode(String(i), size(g)); });
  groupEdges.forEach(function (e, i) {
    layout.setEdge(String(e[0]), String(e[1]), {}, String(i));
  });
  dagre.layout(layout);

  var elements = [];
  groups.forEach(function (g, i) {
    var n = layout.node(String(i));
    elements.push({ group: 'nodes', data: { id: 'v' + i, label: g.label, caption: caption(g), kind: g.style, members: g.members, w: n.width, h: n.height, color: COLORS[g.style], shape: SHAPES[g.style] }, position: { x: n.x, y: n.y } });
  });
  groupEdges.forEach(function (e, i) {
    var kind = kinds[e[2]];
    elements.push({ group: 'edges', data: { id: 'e' + i, source: 'v' + e[0], target: 'v' + e[1], kind: kind.id, mitre: kind.mitre, label: kind.id + ' ' + kind.mitre, members: e[3] } });
  });
  var styles = [
    { selector: 'node', style: {
      'label': 'data(caption)', 'font-size': 12, 'text-valign': 'center', 'text-halign': 'center',
      'text-wrap': 'wrap',
      'width': 'data(w)', 'height': 'data(h)', 'shape': 'round-rectangle',
      'background-color': '#e5e7eb', 'border-width': 2, 'border-color': '#9ca3af', 'color': '#111827',
      'min-zoomed-font-size': 6 } },
    { selector: 'node[members > 1]', style: { 'border-style': 'double', 'border-width': 4, 'font-weight': 'bold' } },
    { selector: 'edge', style: {
      'curve-style': 'bezier', 'target-arrow-shape': 'triangle', 'width': 1.5, 'line-color': '#9ca3af',
      'target-arrow-color': '#9ca3af', 'label': 'data(label)', 'font-size': 9, 'color': '#4b5563',
      'text-rotation': 'autorotate', 'text-background-color': '#fbfbfc', 'text-background-opacity': 0.8,
      'min-zoomed-font-size': 7 } },
    { selector: '.dim', style: { 'opacity': 0.15 } },
    { selector: '.hidden', style: { 'display': 'none' } },
    { selector: '.on-path', style: { 'line-color': '#dc2626', 'target-arrow-color': '#dc2626', 'width': 3, 'border-color': '#dc2626' } },
    { selector: ':selected', style: { 'border-color': '#111827', 'border-width': 4, 'line-color': '#111827', 'target-arrow-color': '#111827' } }
  ];
  styles.splice(1, 0, { selector: 'node', style: { 'background-color': 'data(color)', 'shape': 'data(shape)', 'border-color': 'data(color)', 'background-opacity': 0.25 } });
  var cy = cytoscape({
    container: document.getElementById('graph'), elements: elements, style: styles,
    layout: { name: 'preset' }, minZoom: 0.02, maxZoom: 4,
    textureOnViewport: groups.length > 2000, hideEdgesOnViewport: groups.length > 2000,
    boxSelectionEnabled: false, autoungrabify: true
  });
  window.cy = cy;
  cy.fit(undefined, 20);

  // Details: every path through what was clicked, hop by hop.
  var details = document.getElementById('details');
  function renderPath(p) {
    var path = paths[p];
    var li = el('li', 'path');
    li.appendChild(el('div', 'path-head', vertices[path[0]][0] + ' \u2192 ' + vertices[path[1]][0] + ' (' + path[2] + ' hops)'));
    var hops = el('ol', 'hops');
    path[3].forEach(function (e) {
      var edge = edges[e];
      var kind = kinds[edge[2]];
      var hop = el('li', 'hop');
      var line = el('div', 'line');
      line.appendChild(el('span', 'from', vertices[edge[0]][0]));
      line.appendChild(document.createTextNode(' \u2013'));
      line.appendChild(el('span', 'edge', kind.id));
      line.appendChild(document.createTextNode(' '));
      line.appendChild(el('span', 'mitre', '(' + kind.mitre + ')'));
      line.appendChild(document.createTextNode('\u2192 '));
      line.appendChild(el('span', 'to', vertices[edge[1]][0]));
      hop.appendChild(line);
      hop.appendChild(el('div', 'action', kind.action));
      var at = place(edge);
      if (at !== null) hop.appendChild(el('div', 'evidence', at));
      hop.appendChild(el('div', 'detail', texts[edge[6]]));
      if (edge[7] !== null) hop.appendChild(el('div', 'fix', 'fix: ' + texts[edge[7]]));
      hops.appendChild(hop);
    });
    li.appendChild(hops);
    return li;
  }
  // What the paths pass through stands out; the rest fades. Each drawn
  // element is changed once, however many paths cross it.
  function highlight(through) {
    var onGroup = Object.create(null);
    var onEdge = Object.create(null);
    through.forEach(function (p) {
      paths[p][3].forEach(function (e) {
        var edge = edges[e];
        onEdge[edge[8]] = true;
        onGroup[vertices[edge[0]][3]] = true;
        onGroup[vertices[edge[1]][3]] = true;
      });
    });
    cy.batch(function () {
      cy.elements().removeClass('on-path').addClass('dim');
      Object.keys(onGroup).forEach(function (g) { cy.getElementById('v' + g).removeClass('dim'); });
      Object.keys(onEdge).forEach(function (e) { cy.getElementById('e' + e).removeClass('dim').addClass('on-path'); });
    });
  }
  function showDetails(title, members, through) {
    var visiblePaths = through.filter(function (p) { return shown[p]; });
    details.textContent = '';
    details.appendChild(el('h2', 'selected', title));
    if (members) {
      details.appendChild(el('p', 'note', members.length + ' vertices with identical paths onward:'));
      var list = el('ul', 'members');
      members.slice(0, 1000).forEach(function (m) { list.appendChild(el('li', null, vertices[m][0])); });
      if (members.length > 1000) list.appendChild(el('li', 'note', '\u2026 and ' + number(members.length - 1000) + ' more'));
      details.appendChild(list);
    }
    details.appendChild(el('p', 'note', number(visiblePaths.length) + ' path(s) through it' +
      (visiblePaths.length < through.length ? ' (' + number(through.length - visiblePaths.length) + ' more hidden by the filters)' : '')));
    var list2 = el('ol', 'paths');
    details.appendChild(list2);
    var next = 0;
    var more = el('button', 'more');
    function page() {
      visiblePaths.slice(next, next + PAGE).forEach(function (p) { list2.appendChild(renderPath(p)); });
      next += PAGE;
      if (next < visiblePaths.length) {
        more.textContent = 'show ' + Math.min(PAGE, visiblePaths.length - next) + ' more of ' + number(visiblePaths.length - next);
        details.appendChild(more);
      } else if (more.parentNode) {
        more.parentNode.removeChild(more);
      }
    }
    more.addEventListener('click', page);
    page();
    highlight(visiblePaths);
  }
  function membersOf(g) {
    var out = [];
    if (groups[g].members < 2) return null;
    vertices.forEach(function (v, i) { if (v[3] === g) out.push(i); });
    return out;
  }
  function selectGroup(g) {
    cy.elements().unselect();
    var node = cy.getElementById('v' + g);
    node.select();
    showDetails(groups[g].label, membersOf(g), byGroup[g]);
  }
  function selectGroupEdge(i) {
    var e = groupEdges[i];
    cy.elements().unselect();
    cy.getElementById('e' + i).select();
    showDetails(groups[e[0]].label + ' \u2013' + kinds[e[2]].id + '\u2192 ' + groups[e[1]].label, null, byGroupEdge[i]);
  }
  // A cut: the paths through its very edge, or, when none is drawn (a
  // later cut may lie on paths found once earlier ones are made), a
  // search for where it starts.
  function selectCut(c) {
    var through = [];
    paths.forEach(function (path, p) {
      var on = path[3].some(function (e) {
        var edge = edges[e];
        return kinds[edge[2]].id === c.edge && vertices[edge[0]][0] === c.from && vertices[edge[1]][0] === c.to;
      });
      if (on) through.push(p);
    });
    if (through.length === 0) { showSearch(c.from); return; }
    cy.elements().unselect();
    showDetails(c.from + ' \u2013' + c.edge + '\u2192 ' + c.to, null, through);
  }
  cy.on('tap', 'node', function (event) { selectGroup(Number(event.target.id().slice(1))); });
  cy.on('tap', 'edge', function (event) { selectGroupEdge(Number(event.target.id().slice(1))); });
  cy.on('tap', function (event) {
    if (event.target === cy) {
      cy.elements().removeClass('dim on-path').unselect();
      details.textContent = '';
      details.appendChild(el('p', 'hint', 'Click a vertex or an edge to see every path through it, each hop\'s evidence and its fix.'));
    }
  });

  // Search: every vertex whose name holds the text, by its group.
  var search = document.getElementById('search');
  var results = document.getElementById('search-results');
  var lowered = vertices.map(function (v) { return v[0].toLowerCase(); });
  function showSearch(text) {
    search.value = text;
    runSearch();
  }
  function runSearch() {
    var needle = search.value.trim().toLowerCase();
    results.textContent = '';
    if (!needle) return [];
    var found = [];
    var seen = Object.create(null);
    groups.forEach(function (g, i) {
      if (g.label.toLowerCase().indexOf(needle) >= 0 && !seen[i]) { seen[i] = true; found.push([i, g.label]); }
    });
    for (var i = 0; i < vertices.length && found.length < 50; i++) {
      var g = vertices[i][3];
      if (!seen[g] && lowered[i].indexOf(needle) >= 0) {
        seen[g] = true;
        found.push([g, groups[g].members > 1 ? vertices[i][0] + ' (in ' + groups[g].label + ')' : vertices[i][0]]);
      }
    }
    found.slice(0, 50).forEach(function (f) {
      var li = el('li', 'result', short(f[1], 200));
      li.dataset.vertex = 'v' + f[0];
      li.addEventListener('click', function () { focus(f[0]); });
      results.appendChild(li);
    });
    return found;
  }
  function focus(g) {
    var node = cy.getElementById('v' + g);
    cy.animate({ center: { eles: node }, zoom: Math.max(cy.zoom(), 0.8) }, { duration: 200 });
    selectGroup(g);
  }
  search.addEventListener('input', runSearch);
  search.addEventListener('keydown', function (event) {
    if (event.key === 'Enter') {
      var found = runSearch();
      if (found.length) focus(found[0][0]);
    }
  });

  // Filters: a path is shown when its source kind, target class and
  // source namespace are all chosen; what is on no shown path is hidden.
  var pathSource = paths.map(function (p) { return sourceKind(vertices[p[0]][1]); });
  var pathTarget = paths.map(function (p) { return targetClass(vertices[p[1]][1]); });
  var totals = document.getElementById('totals');
  var groupWasShown = groups.map(function () { return true; });
  var edgeWasShown = groupEdges.map(function () { return true; });
  function applyFilters() {
    var sourceKinds = Object.create(null);
    var targetClasses = Object.create(null);
    document.querySelectorAll('input[name=source-kind]').forEach(function (c) { sourceKinds[c.value] = c.checked; });
    document.querySelectorAll('input[name=target-class]').forEach(function (c) { targetClasses[c.value] = c.checked; });
    var ns = select.value;
    var groupShown = groups.map(function () { return false; });
    var edgeShown = groupEdges.map(function () { return false; });
    var count = 0;
    paths.forEach(function (p, i) {
      shown[i] = sourceKinds[pathSource[i]] && targetClasses[pathTarget[i]] && (ns === '' || vertices[p[0]][2] === ns);
      if (!shown[i]) return;
      count++;
      p[3].forEach(function (e) {
        var edge = edges[e];
        edgeShown[edge[8]] = true;
        groupShown[vertices[edge[0]][3]] = true;
        groupShown[vertices[edge[1]][3]] = true;
      });
    });
    // Only what changes is touched: a class, not a style per element.
    cy.batch(function () {
      groupShown.forEach(function (s, i) {
        if (s !== groupWasShown[i]) cy.getElementById('v' + i).toggleClass('hidden', !s);
      });
      edgeShown.forEach(function (s, i) {
        if (s !== edgeWasShown[i]) cy.getElementById('e' + i).toggleClass('hidden', !s);
      });
    });
    groupWasShown = groupShown;
    edgeWasShown = edgeShown;
    totals.textContent = number(count) + ' of ' + number(paths.length) + ' path(s) shown, from ' +
      number(data.summary.sources) + ' source(s)' +
      (data.summary.beyond_max_hops ? '; ' + number(data.summary.beyond_max_hops) + ' more beyond --max-hops' : '');
  }
  document.querySelectorAll('input[name=source-kind], input[name=target-class]').forEach(function (c) {
    c.addEventListener('change', applyFilters);
  });
  select.addEventListener('change', applyFilters);
  applyFilters();

  window.corral = { select: selectGroup, selectEdge: selectGroupEdge, search: showSearch };
  document.body.dataset.ready = 'true';
})();
